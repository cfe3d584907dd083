//go:build gui

// Command mailroom is the Mailroom desktop and Android client. It is the
// only package that imports gioui.org/app: it opens the window, finds the
// data directory, builds the client adapter and runs ui.App's frame loop.
//
// Build with: go build -tags gui ./app/mailroom
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gioui.org/app"
	"gioui.org/op"
	"gioui.org/unit"
	"gioui.org/x/explorer"

	"mailroom/adapters/client"
	"mailroom/ports"
	"mailroom/ui"
	"mailroom/ui/model"
)

func main() {
	// Flags are for desktop use and screenshots; Android starts with none.
	size := flag.String("size", "1024x720", "window size in dp, WxH")
	dataDir := flag.String("data", "", "data directory (default: the platform's app data dir + /mailroom)")
	dark := flag.Bool("dark", false, "use the dark theme until one is chosen in settings")
	title := flag.String("title", "Mailroom", "window title")
	pick := flag.String("pick", "", "attach this file instead of opening the file chooser (screenshots, desktops without a portal)")
	flag.Parse()

	w, h, err := parseSize(*size)
	if err != nil {
		log.Fatal(err)
	}
	dir := *dataDir
	if dir == "" {
		base, err := app.DataDir()
		if err != nil {
			log.Fatalf("mailroom: no data directory: %v", err)
		}
		dir = filepath.Join(base, "mailroom")
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs // "Saved to" shows where a file went, whatever the working directory
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		log.Fatalf("mailroom: %v", err)
	}

	go func() {
		win := new(app.Window)
		win.Option(app.Title(*title), app.Size(unit.Dp(w), unit.Dp(h)), app.MinSize(unit.Dp(320), unit.Dp(480)))
		if err := run(win, dir, *dark, *pick); err != nil {
			log.Fatal(err)
		}
		os.Exit(0)
	}()
	app.Main()
}

// run is the frame loop. Background results reach the UI through ui.App's
// channel; Invalidate wakes this loop so that the next frame applies them.
func run(win *app.Window, dir string, dark bool, pick string) error {
	ex := explorer.NewExplorer(win)
	pickFile := chooser(ex)
	if pick != "" {
		pickFile = func(max int64) (ports.Attachment, error) { return openAttachment(pick, max) }
	}
	a := ui.New(ui.Config{
		Client:     client.New(client.Config{}),
		DataDir:    dir,
		Invalidate: win.Invalidate,
		SaveFile:   saver(dir),
		PickFile:   pickFile,
		Dark:       dark,
		WheelNotch: wheelNotch(),
		Notifier:   newNotifier(),
		OpenFile:   opener(),
		// Drafts on the server are built as Send builds the message.
		DraftRaw: func(d ports.Draft, from string) ([]byte, error) {
			return client.BuildMessage(d, from, time.Now())
		},
	})
	defer a.Close()
	var ops op.Ops
	for {
		e := win.Event()
		ex.ListenEvents(e) // the explorer needs the platform's view (X11 window, Android activity)
		switch e := e.(type) {
		case app.DestroyEvent:
			return e.Err
		case app.ConfigEvent:
			a.SetFocused(e.Config.Focused)
			if !e.Config.Focused && runtime.GOOS == "android" {
				a.Pause() // in the background Android may end the process unasked
			}
		case app.FrameEvent:
			gtx := app.NewContext(&ops, e)
			a.Layout(gtx)
			e.Frame(gtx.Ops)
		}
	}
}

// chooser attaches a file the user picks with the platform's file chooser
// (the xdg-desktop-portal on Linux, the system picker on Android).
func chooser(ex *explorer.Explorer) func(max int64) (ports.Attachment, error) {
	return func(max int64) (ports.Attachment, error) {
		rc, err := ex.ChooseFile()
		if errors.Is(err, explorer.ErrUserDecline) {
			return ports.Attachment{}, ui.ErrNoFile
		}
		if err != nil {
			return ports.Attachment{}, fmt.Errorf("no file chooser: %w", err)
		}
		defer rc.Close()
		name := "attachment"
		if n, ok := rc.(interface{ Name() string }); ok && n.Name() != "" {
			name = filepath.Base(n.Name()) // a path on desktops, a display name on Android
		}
		return readAttachment(rc, name, sizeOf(rc), max)
	}
}

// openAttachment attaches the file at path, if it has at most max bytes.
func openAttachment(path string, max int64) (ports.Attachment, error) {
	f, err := os.Open(path)
	if err != nil {
		return ports.Attachment{}, err
	}
	defer f.Close()
	return readAttachment(f, filepath.Base(path), sizeOf(f), max)
}

// sizeOf is a file's size if r knows it, else -1.
func sizeOf(r any) int64 {
	switch f := r.(type) {
	case interface{ Stat() (fs.FileInfo, error) }:
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			return st.Size()
		}
	case interface{ Size() int64 }:
		return f.Size()
	}
	return -1
}

// readAttachment reads at most max bytes: a bigger file is refused with
// ui.ErrTooLarge before it fills memory, by its size when known, else by
// reading one byte too many.
func readAttachment(r io.Reader, name string, size, max int64) (ports.Attachment, error) {
	att := ports.Attachment{Name: name}
	if size > max {
		return att, ui.ErrTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return att, err
	}
	if int64(len(data)) > max {
		return att, ui.ErrTooLarge
	}
	att.ContentType = model.ContentType(name)
	att.Data = data
	return att, nil
}

// saver stores attachments in ~/Downloads on desktop, or in the data
// directory's "attachments" folder where there is no Downloads folder
// (Android, where the app may only write its own files).
func saver(dataDir string) func(name string, data []byte) (string, error) {
	return func(name string, data []byte) (string, error) {
		dir := filepath.Join(dataDir, "attachments")
		if runtime.GOOS != "android" && runtime.GOOS != "ios" {
			if home, err := os.UserHomeDir(); err == nil {
				if st, err := os.Stat(filepath.Join(home, "Downloads")); err == nil && st.IsDir() {
					dir = filepath.Join(home, "Downloads")
				}
			}
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
		return writeNew(dir, name, data)
	}
}

// writeNew writes data to dir/name, or to "name (2).ext" and so on when
// the name is taken; it never overwrites a file.
func writeNew(dir, name string, data []byte) (string, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 1; i < 1000; i++ {
		n := name
		if i > 1 {
			n = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		p := filepath.Join(dir, n)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(p)
			return "", err
		}
		return p, nil
	}
	return "", fmt.Errorf("too many files named %s in %s", name, dir)
}

func parseSize(s string) (w, h int, err error) {
	ws, hs, ok := strings.Cut(s, "x")
	if ok {
		w, err = strconv.Atoi(ws)
		if err == nil {
			h, err = strconv.Atoi(hs)
		}
	}
	if !ok || err != nil || w <= 0 || h <= 0 {
		return 0, 0, fmt.Errorf("mailroom: -size wants WxH in dp, like 400x800, not %q", s)
	}
	return w, h, nil
}
