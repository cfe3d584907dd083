package smtpserver

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// fakeDisk is a FreeSpace probe the test turns.
type fakeDisk struct {
	mu    sync.Mutex
	free  uint64
	err   error
	calls int
}

func (f *fakeDisk) set(free uint64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.free, f.err = free, err
}

func (f *fakeDisk) probe() (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.free, f.err
}

func TestLowDiskAtMail(t *testing.T) {
	const minFree = 1 << 20
	disk := &fakeDisk{}
	core, logs := observer.New(zapcore.WarnLevel)
	h := newHarnessLog(t, Config{FreeSpace: disk.probe, MinFreeBytes: minFree, MaxMessageBytes: 1 << 20}, zap.New(core))
	h.user("alice")
	h.user("bob")
	d := h.dial()
	d.cmd("EHLO c", "250 ")
	// Unauthenticated MAIL is refused for that reason, disk or not.
	disk.set(0, nil)
	d.cmd("MAIL FROM:<alice@example.test>", "530 5.7.0")
	d.cmd("AUTH PLAIN "+plainIR("", "alice", "password-alice"), "235 ")

	for _, tc := range []struct {
		name string
		free uint64
		err  error
		mail string
		want string
	}{
		{"plenty", 1 << 40, nil, "MAIL FROM:<alice@example.test>", "250 "},
		{"exactly the reserve", minFree, nil, "MAIL FROM:<alice@example.test>", "250 "},
		{"below the reserve", minFree - 1, nil, "MAIL FROM:<alice@example.test>", "452 4.3.1"},
		{"nothing free", 0, nil, "MAIL FROM:<alice@example.test>", "452 4.3.1"},
		{"SIZE fits", minFree + 1000, nil, "MAIL FROM:<alice@example.test> SIZE=1000", "250 "},
		{"SIZE pushes it over", minFree + 1000, nil, "MAIL FROM:<alice@example.test> SIZE=1001", "452 4.3.1"},
		// Too big is permanent and wins over a transient shortage.
		{"SIZE over the limit", 0, nil, "MAIL FROM:<alice@example.test> SIZE=2000000", "552 5.3.4"},
		{"probe error", 0, errors.New("statfs: input/output error"), "MAIL FROM:<alice@example.test>", "250 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			disk.set(tc.free, tc.err)
			d.cmd(tc.mail, tc.want)
			d.cmd("RSET", "250 ")
		})
	}

	// After a refusal the session goes on: mail flows once space is back.
	disk.set(0, nil)
	d.cmd("MAIL FROM:<alice@example.test>", "452 4.3.1")
	disk.set(1<<40, nil)
	d.sendMail("alice@example.test", []string{"bob"}, "Subject: x\r\n\r\nroom again\r\n")
	if got := h.inbox("bob"); len(got) != 1 {
		t.Fatalf("bob has %d messages, want 1", len(got))
	}

	var probeErr, refused int
	for _, e := range logs.All() {
		switch e.Message {
		case "free space probe":
			probeErr++
			if !strings.Contains(e.ContextMap()["error"].(string), "input/output error") {
				t.Errorf("probe error line: %v", e.ContextMap())
			}
		case "low disk: MAIL refused":
			refused++
		}
	}
	if probeErr != 1 || refused != 4 {
		t.Errorf("logged %d probe errors and %d refusals, want 1 and 4", probeErr, refused)
	}
}

func TestLowDiskNoProbe(t *testing.T) {
	// Without a probe MAIL never asks about the disk.
	h := newHarness(t, Config{})
	h.user("alice")
	d := h.dial()
	d.login("alice")
	d.cmd("MAIL FROM:<alice@example.test> SIZE=1000", "250 ")
	if h.srv.cfg.MinFreeBytes != DefaultMinFreeBytes {
		t.Errorf("MinFreeBytes default = %d", h.srv.cfg.MinFreeBytes)
	}
}

func TestLowStorageReply(t *testing.T) {
	r := replyLowStorage
	if got := r.String(); !strings.HasPrefix(got, "452 4.3.1 ") {
		t.Errorf("replyLowStorage = %q", got)
	}
	if r.Code/100 != r.Enh[0] {
		t.Errorf("%q: classes differ", r)
	}
}
