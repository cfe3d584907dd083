package model

import (
	"os"
	"path/filepath"
)

// HTMLDir is the folder inside the data directory where "Open in browser"
// writes messages' HTML for the browser to read.
const HTMLDir = "open-in-browser"

// htmlHead goes before the message's own HTML. The charset is first
// because the text is Go's UTF-8 whatever the original declared, and the
// first declaration wins. The content security policy keeps remote
// content (tracking pixels, scripts, fonts) from loading: only images
// inside the message and its inline styles are allowed. A <meta> before
// <html> is still parsed into the document's head.
const htmlHead = `<meta charset="utf-8">` +
	`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'">` + "\n"

// WriteHTML writes a message's HTML to a new file that only the user can
// read (0600) in dataDir/HTMLDir and returns its path. The browser reads
// it after this returns, so the file stays until RemoveHTML.
func WriteHTML(dataDir, html string) (string, error) {
	dir := filepath.Join(dataDir, HTMLDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "message-*.html") // mode 0600
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(htmlHead + html); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// RemoveHTML removes every file WriteHTML wrote (at start, for what a
// crash left, and when the app closes).
func RemoveHTML(dataDir string) error {
	return os.RemoveAll(filepath.Join(dataDir, HTMLDir))
}
