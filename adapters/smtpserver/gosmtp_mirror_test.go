package smtpserver

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoSMTPMirrorVersion fails when go.mod moves go-smtp off the version
// gosmtp_mirror.go mirrors (or replaces it): the copied parsing may no
// longer match go-smtp's, which would let message content be read as
// commands.
func TestGoSMTPMirrorVersion(t *testing.T) {
	const mod = "github.com/emersion/go-smtp"
	gomod := findGoMod(t)
	data, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	required, replaced := goModVersion(string(data), mod)
	if replaced {
		t.Errorf("%s replaces %s: gosmtp_mirror.go mirrors the upstream %s; re-check the mirrored code against the replacement", gomod, mod, mirroredGoSMTP)
	}
	if required != mirroredGoSMTP {
		t.Errorf("%s requires %s %q, but gosmtp_mirror.go mirrors %s.\n"+
			"Re-check every piece of gosmtp_mirror.go against that version's source "+
			"(data.go's dataReader, parse.go's parseCmd, conn.go's handle, handleAuth and "+
			"decodeSASLResponse, handleBdat, handleMail and its \"OK: queued\"), and server.go's "+
			"SIZE capability; then set mirroredGoSMTP.",
			gomod, mod, required, mirroredGoSMTP)
	}
}

// findGoMod walks up from the package directory to the module's go.mod.
func findGoMod(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "go.mod")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package directory")
		}
		dir = parent
	}
}

// goModVersion reads the version go.mod requires of module path, and
// whether a replace directive names it. It knows the one-line and the
// block forms, which is all go mod tidy writes.
func goModVersion(gomod, path string) (version string, replaced bool) {
	block := ""
	for _, line := range strings.Split(gomod, "\n") {
		line, _, _ = strings.Cut(line, "//")
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
			continue
		case block != "" && f[0] == ")":
			block = ""
			continue
		case block == "" && len(f) == 2 && f[1] == "(":
			block = f[0]
			continue
		}
		directive := block
		if directive == "" {
			directive, f = f[0], f[1:]
		}
		if len(f) == 0 || f[0] != path {
			continue
		}
		switch directive {
		case "require":
			if len(f) >= 2 {
				version = f[1]
			}
		case "replace":
			replaced = true
		}
	}
	return version, replaced
}

func TestGoModVersion(t *testing.T) {
	const mod = "github.com/emersion/go-smtp"
	for _, tc := range []struct {
		name, gomod, want string
		replaced          bool
	}{
		{"block", "module m\n\nrequire (\n\tgithub.com/emersion/go-smtp v0.25.1\n\tgo.uber.org/zap v1.28.0\n)\n", "v0.25.1", false},
		{"one line", "module m\nrequire github.com/emersion/go-smtp v0.26.0 // indirect\n", "v0.26.0", false},
		{"moved", "require (\n\tgithub.com/emersion/go-smtp v0.24.0\n)\n", "v0.24.0", false},
		{"prefix of another module", "require github.com/emersion/go-smtp-extra v0.25.1\n", "", false},
		{"absent", "module m\n", "", false},
		{"replaced", "require github.com/emersion/go-smtp v0.25.1\nreplace github.com/emersion/go-smtp => ../go-smtp\n", "v0.25.1", true},
		{"replaced in a block", "require github.com/emersion/go-smtp v0.25.1\nreplace (\n\tgithub.com/emersion/go-smtp v0.25.1 => example.org/fork v0.1.0\n)\n", "v0.25.1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, replaced := goModVersion(tc.gomod, mod)
			if got != tc.want || replaced != tc.replaced {
				t.Errorf("goModVersion = %q, %v; want %q, %v", got, replaced, tc.want, tc.replaced)
			}
		})
	}
}

// The mirrored parsers, spot-checked against what go-smtp v0.25.1 does with
// each line (read off its source).
func TestGoSMTPVerb(t *testing.T) {
	for _, tc := range []struct {
		line, want string
		ok         bool
	}{
		{"NOOP", "NOOP", true},
		{"noop", "NOOP", true},
		{"MAIL FROM:<a@b>", "MAIL", true},
		{"starttlsjunk", "STARTTLS", true},
		{"QUITX", "", false},      // five characters: "mangled"
		{"RCPTTO:<a>", "", false}, // no space after the verb
		{"FOO", "", false},
		{"", "", false},
		{"HELP", "HELP", false}, // go-smtp answers HELP 502; the shim answers it first
		{"XYZW arg", "XYZW", false},
	} {
		v, ok := goSMTPVerb(tc.line)
		if ok != tc.ok || ok && v != tc.want {
			t.Errorf("goSMTPVerb(%q) = %q, %v; want %q, %v", tc.line, v, ok, tc.want, tc.ok)
		}
	}
}

func TestBDATSize(t *testing.T) {
	for _, tc := range []struct {
		line string
		size int64
		ok   bool
	}{
		{"BDAT 5", 5, true},
		{"BDAT 0 LAST", 0, true},
		{"bdat  7  last", 7, true},
		{"BDAT 4294967295", 4294967295, true},
		{"BDAT 4294967296", 0, false}, // over go-smtp's 32 bits
		{"BDAT -1", 0, false},
		{"BDAT 5 NOTLAST", 0, false},
		{"BDAT 5 LAST x", 0, false},
		{"BDAT", 0, false},
		{"BDAT x", 0, false},
	} {
		size, ok := bdatSize(tc.line)
		if size != tc.size || ok != tc.ok {
			t.Errorf("bdatSize(%q) = %d, %v; want %d, %v", tc.line, size, ok, tc.size, tc.ok)
		}
	}
}

func TestClampSize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"MAIL FROM:<a@b> SIZE=99999999999\r\n", "MAIL FROM:<a@b> SIZE=4294967295\r\n"},
		{"mail from:<a@b> size=4294967296 BODY=8BITMIME\r\n", "mail from:<a@b> size=4294967295 BODY=8BITMIME\r\n"},
		{"MAIL FROM:<a@b> SIZE=4294967295\r\n", ""}, // go-smtp parses it
		{"MAIL FROM:<a@b> SIZE=1x\r\n", ""},         // not a number: go-smtp's 501
		{"RCPT TO:<a@b> SIZE=99999999999\r\n", ""},
	} {
		out, ok := clampSize([]byte(tc.in))
		if tc.want == "" {
			if ok || string(out) != tc.in {
				t.Errorf("clampSize(%q) = %q, %v; want it untouched", tc.in, out, ok)
			}
			continue
		}
		if !ok || string(out) != tc.want {
			t.Errorf("clampSize(%q) = %q, %v; want %q", tc.in, out, ok, tc.want)
		}
	}
}

// refDataRead is go-smtp v0.25.1's dataReader.Read loop (data.go), a byte
// at a time, transcribed as the reference decodeData must match: it gives
// the content and whether the end marker was reached.
func refDataRead(in []byte) (out []byte, used int, eof bool) {
	state := dsBeginLine
	for i, c := range in {
		switch state {
		case dsBeginLine:
			if c == '.' {
				state = dsDot
				continue
			}
			if c == '\r' {
				state = dsCR
				break
			}
			state = dsData
		case dsDot:
			if c == '\r' {
				state = dsDotCR
				continue
			}
			state = dsData
		case dsDotCR:
			if c == '\n' {
				return out, i + 1, true
			}
			state = dsData
		case dsCR:
			if c == '\n' {
				state = dsBeginLine
				break
			}
			state = dsData
		case dsData:
			if c == '\r' {
				state = dsCR
			}
		}
		out = append(out, c)
	}
	return out, len(in), false
}

// FuzzDecodeData: decodeData, fed in blocks split anywhere, gives what
// go-smtp's dataReader gives and stops where it stops.
func FuzzDecodeData(f *testing.F) {
	for _, s := range []string{
		"a\r\n.\r\n", "x\n.\nPING\r\n\r\n.\r\nrest", "..dot\r\n.\r\n", ".\rX\r\n.\r\n",
		"\r\r\n.\r\n", "\r\n.\r\n", ".\r\n", "no end\r\n", "\r.\r\n.\n.\r\n",
	} {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		n := int(step%16) + 1
		want, wantUsed, wantEOF := refDataRead(in)
		var got []byte
		state, used := dsBeginLine, 0
		for used < len(in) && state != dsEOF {
			var u int
			state, u, got = decodeData(state, in[used:min(len(in), used+n)], got)
			used += u
		}
		if !bytes.Equal(got, want) || used != wantUsed || (state == dsEOF) != wantEOF {
			t.Fatalf("decodeData(%q) in blocks of %d = %q, used %d, end %v; go-smtp: %q, %d, %v",
				in, n, got, used, state == dsEOF, want, wantUsed, wantEOF)
		}
	})
}

func TestExpandBareLF(t *testing.T) {
	for _, tc := range []struct {
		in   string
		from int
	}{
		{"", 0}, {"\n", 0}, {"a\nb", 0}, {"a\r\nb\n", 0}, {"\n\n\r\n\r\r\n\n", 0},
		{"hdr\r\n\nbody\nend", 5}, {"hdr\nx", 4}, {"\r\n\n", 2},
	} {
		for _, spare := range []int{0, 16} { // a new array, and in place
			b := make([]byte, len(tc.in), len(tc.in)+spare)
			copy(b, tc.in)
			k := countBareLF(b[tc.from:])
			got := string(expandBareLF(b, tc.from, k))
			if want := tc.in[:tc.from] + crlf(tc.in[tc.from:]); got != want {
				t.Errorf("expandBareLF(%q, %d) spare %d = %q, want %q", tc.in, tc.from, spare, got, want)
			}
		}
	}
}
