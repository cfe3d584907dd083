package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"mailroom/adapters/sqlite"
	"mailroom/domain/account"
)

// result is what one in-process run gave.
type result struct {
	code           int
	stdout, stderr string
}

// env is a fake environment for getenv.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// runCLI runs the program in-process with args, stdin and a fake
// environment (nil means empty), and waits for it.
func runCLI(t *testing.T, e env, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: e.get}
	code := c.run(context.Background(), args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// mustRun is runCLI that fails the test unless the exit code is 0.
func mustRun(t *testing.T, e env, stdin string, args ...string) result {
	t.Helper()
	r := runCLI(t, e, stdin, args...)
	if r.code != 0 {
		t.Fatalf("mailroomd %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// lineWriter is a concurrency-safe writer that hands complete lines to a
// channel (and keeps everything for failure messages).
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	all   bytes.Buffer
	lines chan string
}

func newLineWriter() *lineWriter { return &lineWriter{lines: make(chan string, 1024)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err == io.EOF {
			w.buf.WriteString(line) // incomplete: keep for later
			break
		}
		select {
		case w.lines <- strings.TrimSuffix(line, "\n"):
		default: // nobody reads that far; the text is still in all
		}
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}

func timeNow() time.Time { return time.Now() }

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// checkLogin opens the database in dir and checks whether name can log in
// with password.
func checkLogin(t *testing.T, dir, domain, name, password string, want bool) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Config{Path: config{DataDir: dir}.DBPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	acc := account.NewService(store, newHasher(config{}), account.Config{Domain: domain}, nil)
	_, err = acc.Authenticate(ctx, name, password)
	switch {
	case want && err != nil:
		t.Errorf("login %s: %v", name, err)
	case !want && !errors.Is(err, account.ErrBadCredentials):
		t.Errorf("login %s with a wrong password: %v, want ErrBadCredentials", name, err)
	}
}
