package mail

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
)

// Text is what a message says, decoded, for readers, previews and the
// search index: header fields as UTF-8, the body parts without their
// transfer encoding and converted to UTF-8, and the names of the attached
// files (not their bytes).
type Text struct {
	// Subject is RFC 2047 decoded.
	Subject string
	// From holds the From header's people; To those of To and Cc.
	From, To []Person
	// Plain is the first text/plain part with any text, HTML the first
	// text/html part (markup and all). Either may be "". Use Body for what
	// a reader shows.
	Plain, HTML string
	// Files lists the attachments, and inline parts that are not text, in
	// message order.
	Files []File
}

// Person is one address of a header field, with its display name (RFC 2047
// decoded, "" when none). An item of a field that does not parse gives a
// Person whose Name is its decoded text and Addr "".
type Person struct{ Name, Addr string }

// File is an attached file: its name (RFC 2231 or RFC 2047 decoded, "" when
// it has none) and media type. The name is the sender's: sanitise it
// before using it as a path.
type File struct{ Name, Type string }

// Body is the text a reader shows: see BodyText.
func (t Text) Body() string {
	s, _ := BodyText(t.Plain, t.HTML)
	return s
}

// TextLimits bounds the work ExtractText does on a message. A zero field
// takes its default.
type TextLimits struct {
	// ScanBytes is how much of the message is looked at (default 64 MiB):
	// parts after it are not seen.
	ScanBytes int
	// PartBytes is how much of a text part's encoded body is read (default
	// 1 MiB).
	PartBytes int
	// Depth bounds multipart nesting, the message being depth 0 (default
	// 10); Parts the entities visited in all (default 1000).
	Depth, Parts int
}

func (l TextLimits) withDefaults() TextLimits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.ScanBytes, 64<<20)
	def(&l.PartBytes, 1<<20)
	def(&l.Depth, 10)
	def(&l.Parts, 1000)
	return l
}

// ExtractText reads what raw, an RFC 5322 message, says: see Text. It is
// lenient, as a mail reader must be: a part it cannot read is passed over,
// and a message that does not parse gives an empty Text. Any input is safe:
// it never panics and lim bounds its work.
func ExtractText(raw []byte, lim TextLimits) Text {
	w := &textWalk{lim: lim.withDefaults()}
	w.message(raw)
	return w.out
}

// textWalk walks a MIME tree depth first, filling out.
type textWalk struct {
	lim   TextLimits
	parts int
	// capped: the walk ended at lim.Parts.
	capped bool
	// firstText stops the walk at the first text/plain part with text:
	// a preview needs nothing more.
	firstText bool
	out       Text
	// previewPrefix > 0 (Preview) tries a text/plain part's first
	// previewPrefix bytes before the rest: when they make the whole preview
	// (see oneLine's partial), it is left in preview and the walk ends.
	previewPrefix int
	preview       string
	previewDone   bool
	// ingest, for ParseMessage, keeps what else its one walk reads: the
	// header and what Preview's own walk would find.
	ingest *ingestWalk
}

// previewPrefix is how much of a text part Preview decodes first: 160
// runes of text need a few lines, unless quotes come first.
const previewPrefix = 1 << 10

// rawBody is a message body as a slice of the message: read from it,
// decodeText takes the bytes it needs without copying them.
type rawBody struct {
	b []byte
	*bytes.Reader
}

// readUpTo gives the first limit bytes of body (fewer at its end) and
// whether that was all of it.
func readUpTo(body io.Reader, limit int) (b []byte, all bool) {
	if rb, ok := body.(rawBody); ok {
		if limit < len(rb.b) {
			return rb.b[:limit], false
		}
		return rb.b, true
	}
	b, err := io.ReadAll(io.LimitReader(body, int64(limit)))
	if err != nil {
		return b, true
	}
	return b, len(b) < limit
}

// header is a message's or a part's header (net/mail.Header,
// textproto.MIMEHeader).
type header interface{ Get(key string) string }

func (w *textWalk) message(raw []byte) {
	if len(raw) > w.lim.ScanBytes {
		raw = raw[:w.lim.ScanBytes]
	}
	rd := bytes.NewReader(raw)
	m, err := netmail.ReadMessage(rd)
	if err != nil {
		return
	}
	// net/mail reads the header through a bufio.Reader and leaves the body
	// in it: what it has buffered plus what rd still holds is the body,
	// the end of raw.
	if br, ok := m.Body.(*bufio.Reader); ok {
		body := raw[len(raw)-rd.Len()-br.Buffered():]
		m.Body = rawBody{body, bytes.NewReader(body)}
		if w.ingest != nil {
			w.ingest.header, w.ingest.headerLen = m.Header, len(raw)-len(body)
		}
	}
	if !w.firstText {
		w.out.Subject = decodeHeader(m.Header.Get("Subject"))
		w.out.From = w.people(m.Header, "From")
		w.out.To = append(w.people(m.Header, "To"), w.people(m.Header, "Cc")...)
	}
	w.part(m.Header, m.Body, 0)
}

func (w *textWalk) people(h netmail.Header, key string) []Person {
	if w.ingest != nil {
		return w.ingest.people(h, key)
	}
	return people(h, key)
}

// part reads one entity, and within it every part in turn. It reports
// whether the walk is over.
func (w *textWalk) part(h header, body io.Reader, depth int) (stop bool) {
	w.parts++
	if w.parts > w.lim.Parts {
		w.capped = true
		return true
	}
	seen := w.ingest != nil && w.ingest.visit(depth)
	mediatype, params := "text/plain", map[string]string{} // RFC 2045 §5.2 default
	if ct := h.Get("Content-Type"); ct != "" {
		mt, p, err := mime.ParseMediaType(ct)
		switch {
		case err == nil || (mt != "" && errors.Is(err, mime.ErrInvalidMediaParameter)):
			mediatype, params = mt, p
		default:
			mediatype, params = "application/octet-stream", nil // unreadable: not text to show
		}
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	if strings.HasPrefix(mediatype, "multipart/") {
		return w.multipart(body, params["boundary"], depth)
	}
	attached := disp == "attachment" // an attached .txt is not the message's text
	switch {
	case w.ingest != nil && (mediatype == "text/plain" || mediatype == "text/html") && !attached:
		w.ingestText(h, body, mediatype == "text/html", params["charset"], seen)
	case mediatype == "text/plain" && !attached:
		if w.out.Plain != "" {
			return false // a second text part (a list footer, say) is not the body
		}
		if w.previewPrefix > 0 {
			var done bool
			if body, done = w.tryPreview(body, h.Get("Content-Transfer-Encoding"), params["charset"]); done {
				return true
			}
		}
		s := decodeText(body, h.Get("Content-Transfer-Encoding"), params["charset"], w.lim.PartBytes)
		if strings.TrimSpace(s) != "" {
			w.out.Plain = s
			return w.firstText
		}
	case mediatype == "text/html" && !attached:
		if w.out.HTML == "" {
			s := decodeText(body, h.Get("Content-Transfer-Encoding"), params["charset"], w.lim.PartBytes)
			if strings.TrimSpace(s) != "" {
				w.out.HTML = s
			}
		}
	case !w.firstText:
		w.out.Files = append(w.out.Files, File{Name: fileName(dparams, params), Type: mediatype})
	}
	return false
}

// tryPreview decodes the first previewPrefix bytes of a text/plain body
// and makes the preview of them if they are enough. Otherwise it gives a
// reader of the whole body again, the bytes it read first included.
func (w *textWalk) tryPreview(body io.Reader, cte, charset string) (rest io.Reader, done bool) {
	limit := min(w.previewPrefix, w.lim.PartBytes)
	b, all := readUpTo(body, limit)
	if all {
		return rawBody{b, bytes.NewReader(b)}, false // short: decoded whole, as usual
	}
	if p, ok := oneLine(decodeBytes(b, cte, charset), true); ok {
		w.preview, w.previewDone = p, true
		return nil, true
	}
	if rb, ok := body.(rawBody); ok {
		return rb, false // not read from: the slice is still whole
	}
	return io.MultiReader(bytes.NewReader(b), body), false
}

func (w *textWalk) multipart(body io.Reader, boundary string, depth int) (stop bool) {
	if depth >= w.lim.Depth || boundary == "" {
		return false
	}
	mr := multipart.NewReader(body, boundary)
	for {
		// NextRawPart, not NextPart: NextPart decodes quoted-printable
		// itself and hides the header, and decodeText does all of them.
		p, err := mr.NextRawPart()
		if err != nil {
			return false
		}
		if w.part(p.Header, p, depth+1) {
			return true
		}
	}
}
