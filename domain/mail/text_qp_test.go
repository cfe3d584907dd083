package mail

import (
	"bytes"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// libraryQP is what decodeQP mirrors.
func libraryQP(b []byte) []byte {
	out, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
	return out
}

// qpSeeds: soft breaks (CRLF, LF, with trailing blanks, at the very end,
// alone on a line, followed by junk), escapes (upper and lower case hex,
// bad, cut at the end, before a line break), bytes the library refuses,
// and lines at bufio's buffer size.
func qpSeeds() []string {
	long := func(n int, end string) string { return strings.Repeat("x", n) + end }
	return []string{
		"", "\n", "\r\n", "=", "==", "a=", "a==", "a=\r\n", "a=\n", "a= \t\r\nb", "a=\r", "=\r\nb", "a=x\r\n",
		"Caf=E9 =\r\nx=ZZ\r\n", "=C3=A9=c3=a9\r\n", "=3", "=3\r\n", "=3D=\r\n", "a=\r\n\r\n", "a =  \r\nb\t\r\n",
		"trailing  \t\r\nblank\t \n", "tab\there\r\n", "ctl\x01byte", "del\x7f", "high\xc3\xa9\xff bytes\r\n",
		"=\r\n", "=\n", "a\rb\r\n", "a=\rb\r\n", "bare\rcr\r", "=0A=0D=00", "x=\r\n=\r\n=\r\ny",
		long(qpLineMax-2, "\r\n") + "next", long(qpLineMax-1, "\n") + "next", long(qpLineMax, "\n") + "next",
		long(qpLineMax-1, ""), long(qpLineMax, ""), long(qpLineMax+5, ""), long(qpLineMax-1, "="),
		long(qpLineMax-2, "=\r") + "\nnext", long(qpLineMax-2, "=\r\n") + "next", long(qpLineMax-3, "=41\r\n") + "x",
		strings.Repeat("Gr=C3=BC=C3=9Fe aus K=C3=B6ln, a line of quoted-printable text here.=\r\n\r\n", 140),
	}
}

func TestDecodeQPSameAsLibrary(t *testing.T) {
	for _, s := range qpSeeds() {
		if got, want := decodeQP([]byte(s)), libraryQP([]byte(s)); !bytes.Equal(got, want) {
			t.Errorf("decodeQP(%.80q)\n = %.80q\nlib %.80q", s, got, want)
		}
	}
}

func FuzzDecodeQPSame(f *testing.F) {
	for _, s := range qpSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := decodeQP(b), libraryQP(b); !bytes.Equal(got, want) {
			t.Errorf("decodeQP(%q)\n = %q\nlib %q", b, got, want)
		}
	})
}
