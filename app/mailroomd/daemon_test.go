package main

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestDataDirMode(t *testing.T) {
	const me, other = 1000, 0
	for _, tc := range []struct {
		name        string
		mode        fs.FileMode
		owner       int
		want        fs.FileMode
		wantRefused bool
	}{
		{"private", 0o700, me, 0o700, false},
		{"readable by others is left alone", 0o755, me, 0o755, false},
		{"not ours but not writable by others", 0o755, other, 0o755, false},
		{"ours, group-writable", 0o770, me, 0o750, false},
		{"ours, world-writable", 0o777, me, 0o755, false},
		{"ours, sticky and world-writable", fs.ModeSticky | 0o777, me, fs.ModeSticky | 0o755, false},
		{"not ours, group-writable", 0o770, other, 0, true},
		{"not ours, world-writable", 0o757, other, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dataDirMode("/srv/mail", tc.mode, tc.owner, me)
			if tc.wantRefused {
				if !errors.Is(err, errUnsafeDataDir) || !strings.Contains(err.Error(), "/srv/mail") {
					t.Errorf("got %v, %v; want errUnsafeDataDir naming the path", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestDataDirCreatedPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "data")
	mustRun(t, nil, "", "--data", dir, "cert")
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("created data directory: %v, %v; want mode 0700", fi.Mode(), err)
	}
}

func TestDataDirTightened(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no unix modes")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, nil, "", "--data", dir, "cert")
	if !strings.Contains(r.stderr, dir) || !strings.Contains(r.stderr, "tightened") {
		t.Errorf("stderr does not say the directory was tightened: %q", r.stderr)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode after: %v, %v; want 0755", fi.Mode(), err)
	}

	// serve logs it.
	if err := os.Chmod(dir, 0o770); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, dir)
	if !strings.Contains(d.logs.String(), "tightened to 0750") {
		t.Errorf("serve did not log the tightening:\n%s", d.logs)
	}
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// unsafeDir gives a group- and world-writable directory this process does
// not own: as root, a new one given to nobody; otherwise a system one such
// as /tmp, which root owns.
func unsafeDir(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("no unix owners")
	}
	if os.Geteuid() == 0 {
		dir := filepath.Join(t.TempDir(), "shared")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Skipf("chown: %v", err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	for _, dir := range []string{os.TempDir(), "/tmp", "/var/tmp"} {
		fi, err := os.Stat(dir)
		if err != nil {
			continue
		}
		if owner, ok := fileOwner(fi); ok && owner != os.Geteuid() && fi.Mode().Perm()&0o022 != 0 {
			return dir
		}
	}
	t.Skip("no writable-by-others directory owned by someone else to test with")
	return ""
}

func TestDataDirNotOursRefused(t *testing.T) {
	dir := unsafeDir(t)
	before, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "", "--data", dir, "cert")
	if r.code != exitError || !strings.Contains(r.stderr, dir) || !strings.Contains(r.stderr, "refusing") {
		t.Errorf("cert: exit %d, stderr %q; want 1 and a refusal naming %s", r.code, r.stderr, dir)
	}
	r = runCLI(t, nil, "", "--data", dir, "--log-format", "json", "--smtp-addr", "127.0.0.1:0", "--inbox-addr", "127.0.0.1:0", "--imap-addr", "127.0.0.1:0")
	if r.code != exitError || !strings.Contains(r.stderr, dir) || !strings.Contains(r.stderr, "refusing") {
		t.Errorf("serve: exit %d, stderr %q; want 1 and a refusal naming %s", r.code, r.stderr, dir)
	}
	after, err := os.Stat(dir)
	if err != nil || after.Mode() != before.Mode() {
		t.Errorf("mode changed from %v to %v (%v)", before.Mode(), after.Mode(), err)
	}
	for _, name := range []string{"mailroom.db", "cert.pem", lockFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil && os.Geteuid() == 0 {
			t.Errorf("%s was created in the refused directory", name)
		}
	}
}

func TestPprofAddr(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir)
	if _, ok := d.addrs["pprof"]; ok {
		t.Errorf("pprof listens by default: %v", d.addrs)
	}
	d.stop()

	d = startDaemon(t, dir, "--pprof-addr", "127.0.0.1:0")
	addr := d.addrs["pprof"]
	if addr == "" {
		t.Fatalf("no pprof listening line: %v", d.addrs)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for path, want := range map[string]string{
		"/debug/pprof/":                  "goroutine",
		"/debug/pprof/heap?debug=1":      "heap profile",
		"/debug/pprof/goroutine?debug=1": "goroutine profile",
		"/debug/pprof/cmdline":           "mailroomd",
	} {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || (path != "/debug/pprof/cmdline" && !strings.Contains(string(body), want)) {
			t.Errorf("GET %s: %s, body %.200q; want 200 with %q", path, resp.Status, body, want)
		}
	}
	// Its own mux: nothing else is served there.
	if resp, err := client.Get("http://" + addr + "/"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /: %v, %v; want 404", resp, err)
	} else {
		resp.Body.Close()
	}
	// It does not hold shutdown up or turn it into a failure.
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d; log:\n%s", code, d.logs)
	}
}

func TestPprofAddrLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"127.0.0.1:6060", true},
		{"127.0.0.2:6060", true},
		{"[::1]:6060", true},
		{"", true},
		{"off", true},
		{"0.0.0.0:6060", false},
		{":6060", false},
		{"[::]:6060", false},
		{"192.0.2.1:6060", false},
		{"localhost:6060", false},
		{"127.0.0.1", false},
		{"127.0.0.1:70000", false},
	} {
		var got string
		err := loopbackAddrValue{&got}.Set(tc.value)
		if tc.ok != (err == nil) {
			t.Errorf("Set(%q) = %v, want ok %v", tc.value, err, tc.ok)
		}
	}
	r := runCLI(t, nil, "", "--data", t.TempDir(), "--pprof-addr", "0.0.0.0:6060")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--pprof-addr") || !strings.Contains(r.stderr, "loopback") {
		t.Errorf("exit %d, stderr %q; want 2 naming --pprof-addr and loopback", r.code, r.stderr)
	}
}

func TestErrorsNameFlagsWithTwoDashes(t *testing.T) {
	for _, tc := range []struct {
		env  env
		args []string
		want string
	}{
		{nil, []string{"--max-message", "lots"}, `invalid value "lots" for flag --max-message:`},
		{nil, []string{"--colour"}, "flag provided but not defined: --colour"},
		{nil, []string{"--grace"}, "flag needs an argument: --grace"},
		{nil, []string{"--cert", "c.pem"}, "flags --cert and --key go together"},
		{nil, []string{"--db-busy-timeout", "500us"}, "flag --db-busy-timeout:"},
		{env{"MAILROOM_GRACE": "soon"}, nil, "(flag --grace)"},
		// A value that looks like the flag package's text is not rewritten.
		{nil, []string{"--domain", "x for flag -y"}, `invalid value "x for flag -y" for flag --domain:`},
	} {
		r := runCLI(t, tc.env, "", append([]string{"--data", t.TempDir()}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if usage := mustRun(t, nil, "", "-h").stdout; !strings.Contains(usage, "\n  --max-message size") {
		t.Errorf("usage does not list --max-message:\n%s", usage)
	}
}

func TestTwoDashes(t *testing.T) {
	for in, want := range map[string]string{
		"flag provided but not defined: -x":         "flag provided but not defined: --x",
		"flag needs an argument: -grace":            "flag needs an argument: --grace",
		`invalid value "a" for flag -domain: bad`:   `invalid value "a" for flag --domain: bad`,
		`invalid value "\"q" for flag -domain: bad`: `invalid value "\"q" for flag --domain: bad`,
		"bad flag syntax: ---x":                     "bad flag syntax: ---x",
		`invalid value "unterminated`:               `invalid value "unterminated`,
	} {
		if got := twoDashes(in); got != want {
			t.Errorf("twoDashes(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVersionPrintsPaths(t *testing.T) {
	dir := t.TempDir()
	r := mustRun(t, env{"MAILROOM_DATA": dir}, "", "version")
	for _, w := range []string{"data directory: " + dir + "\n", "database: " + filepath.Join(dir, "mailroom.db") + "\n"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("version output lacks %q:\n%s", w, r.stdout)
		}
	}
	// A relative --data is printed as the absolute path it means; nothing
	// is created.
	r = mustRun(t, nil, "", "--data", "rel-data", "version")
	abs, _ := filepath.Abs("rel-data")
	if !strings.Contains(r.stdout, "database: "+filepath.Join(abs, "mailroom.db")) {
		t.Errorf("version output for a relative --data:\n%s", r.stdout)
	}
	if _, err := os.Stat("rel-data"); err == nil {
		t.Errorf("version created the data directory")
	}
}

func TestAccountConfig(t *testing.T) {
	cfg, _ := parseConfig(t, nil, "--registration", "closed", "--reg-rate", "off", "--auth-fail-rate", "7/1m", "--domain", "example.org")
	ac := accountConfig(cfg)
	if ac.Domain != "example.org" || !ac.RegistrationClosed || ac.RegRate.N >= 0 || ac.AuthFailRate.N != 7 || ac.CredentialCacheTTL != 5*time.Minute {
		t.Errorf("accountConfig = %+v", ac)
	}
	// 0 is off, not the service's default.
	cfg, _ = parseConfig(t, nil, "--auth-cache-ttl", "0")
	if ttl := accountConfig(cfg).CredentialCacheTTL; ttl >= 0 {
		t.Errorf("--auth-cache-ttl 0 gives CredentialCacheTTL %v, want negative (off)", ttl)
	}
}
