//go:build gui

package main

import (
	"log"
	"os"
	"os/exec"
	"runtime"

	"gioui.org/x/notify"

	"mailroom/ui"
)

// wheelNotch is what one mouse-wheel notch reports on this platform, for
// ui.Config.WheelNotch: Gio v0.10.3's X11 backend (a Linux desktop without
// a Wayland session) makes a 10 px scroll of both the button press and
// the release X sends for a notch, 20 px in all (seen under Xvfb with
// xdotool click 5); Wayland and Android scale a notch themselves.
func wheelNotch() float32 {
	if runtime.GOOS == "linux" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return 20
	}
	return 0
}

// systemNotifier posts notifications through gioui.org/x/notify: D-Bus on
// Linux, the notification manager on Android (where it needs cgo, as all
// of gioui.org/app does there; Android 13's notification permission is
// granted in the system settings, Gio has no request for it).
type systemNotifier struct{ n notify.Notifier }

func (s systemNotifier) Notify(title, text string) error {
	_, err := s.n.CreateNotification(title, text)
	return err
}

// newNotifier is the platform's notifier, or nil where there is none (no
// D-Bus session, say): the UI then offers no notifications.
func newNotifier() ui.Notifier {
	n, err := notify.NewNotifier()
	if err != nil {
		log.Printf("mailroom: no notifications: %v", err)
		return nil
	}
	return systemNotifier{n}
}

// opener opens a file with the desktop's default program (xdg-open).
// Android has none that Gio offers (a file of the app's own would also
// need a content provider), so "Open in browser" is hidden there.
func opener() func(path string) error {
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" && runtime.GOOS != "openbsd" {
		return nil
	}
	if _, err := exec.LookPath("xdg-open"); err != nil {
		return nil
	}
	return func(path string) error {
		cmd := exec.Command("xdg-open", path)
		if err := cmd.Start(); err != nil {
			return err
		}
		go cmd.Wait() // reaped when the opener exits; the browser lives on
		return nil
	}
}
