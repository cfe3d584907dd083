package mail

import (
	"io"
	netmail "net/mail"
	"strings"
	"unicode/utf8"
)

// Parsed is what storing a message reads from it: the header fields, the
// preview and the text the search index holds, from one walk of the
// message (ParseMessage) instead of one per use.
type Parsed struct {
	// Header is ParseHeader(raw).
	Header Header
	// Preview is Preview(raw).
	Preview string
	// text is ExtractText(raw, indexTextLimits) as far as a SearchDoc
	// reads it: HTML is left out when a text/plain part came first.
	text Text
}

// SearchDoc is NewSearchDoc(raw, from) of the message p was parsed from.
func (p *Parsed) SearchDoc(from string) SearchDoc { return searchDocOf(&p.text, from) }

// ParseMessage reads raw once for everything delivery stores: the header
// fields ParseHeader gives, the preview Preview gives, and what
// NewSearchDoc indexes (see Parsed.SearchDoc), each the same as those
// functions give. Like them it takes any input; its work is bounded as
// ExtractText's for the index.
func ParseMessage(raw []byte) Parsed {
	w := &textWalk{lim: indexTextLimits.withDefaults(), ingest: &ingestWalk{
		// Preview looks at its first previewLimits.ScanBytes only: past
		// that, its walk and this one see different messages.
		preview: len(raw) <= previewLimits.ScanBytes,
	}}
	w.message(raw)
	in := w.ingest
	p := Parsed{text: w.out}
	if !in.preview || (w.capped && !in.previewEnd) {
		// Over 1 MiB, or this walk ended at its part limit where Preview's
		// would go on: Preview walks the message itself (its first text
		// part's first KiB is mostly all it reads).
		p.Preview = Preview(raw)
	} else {
		// What Preview makes of what its walk finds (its first-KiB short
		// cut gives the same: FuzzPreviewSame).
		p.Preview = PreviewText(in.plain, in.html)
	}
	// ParseHeader reads the header block it finds in its first
	// MaxHeaderBytes: when the walk's header ended on a blank line within
	// that block, both read the same lines.
	if in.header != nil && in.headerLen < len(raw) && in.headerLen <= len(headBlock(raw)) {
		p.Header = headerFields(in.header, in.addresses)
	} else {
		p.Header = ParseHeader(raw)
	}
	return p
}

// ingestWalk is what ParseMessage's walk keeps beside its Text.
type ingestWalk struct {
	// header is the message's, headerLen its length with the blank line.
	header    netmail.Header
	headerLen int
	// addrs holds address fields as ParseHeader reads them, where the
	// parse for the Text gave them too (see people).
	addrs []fieldAddrs
	// preview: Preview's walk is followed. It visits the entities at
	// depth up to previewLimits.Depth, at most previewLimits.Parts of them,
	// reads previewLimits.PartBytes of a text part, and ends at the first
	// text/plain part with text. plain and html are what it found and
	// previewEnd that it ended.
	preview    bool
	parts      int
	plain      string
	html       string
	previewEnd bool
}

// visit counts an entity at depth for Preview's walk and reports whether
// that walk reads it.
func (in *ingestWalk) visit(depth int) bool {
	if !in.preview || in.previewEnd || depth > previewLimits.Depth {
		return false
	}
	in.parts++
	if in.parts > previewLimits.Parts {
		in.previewEnd = true
		return false
	}
	return true
}

// ingestText reads a text part, not attached, once for both the index and
// Preview's walk (seen: it reads this part). The index keeps the first
// text/plain part with text, and the first text/html part with text only
// while it has no text/plain one: a SearchDoc's body is the HTML's only
// then. Preview's walk reads a prefix of the same bytes.
func (w *textWalk) ingestText(h header, body io.Reader, isHTML bool, charset string, seen bool) {
	in := w.ingest
	index := w.out.Plain == "" && (!isHTML || w.out.HTML == "")
	preview := seen && (!isHTML || in.html == "")
	if !index && !preview {
		return
	}
	cte := h.Get("Content-Transfer-Encoding")
	b, _ := readUpTo(body, w.lim.PartBytes) // indexTextLimits.PartBytes ≥ previewLimits.PartBytes
	s := ""
	if index && len(b) > 0 {
		s = decodeBytes(b, cte, charset)
		if strings.TrimSpace(s) != "" {
			if isHTML {
				w.out.HTML = s
			} else {
				w.out.Plain = s
			}
		}
	}
	if !preview {
		return
	}
	if pb := b[:min(len(b), previewLimits.PartBytes)]; !index || len(pb) < len(b) {
		s = ""
		if len(pb) > 0 {
			s = decodeBytes(pb, cte, charset)
		}
	}
	if strings.TrimSpace(s) == "" {
		return
	}
	if isHTML {
		in.html = s
	} else {
		in.plain, in.previewEnd = s, true
	}
}

type fieldAddrs struct {
	key   string
	addrs []string
}

// people is people(h, key), and keeps the field's addresses as
// ParseHeader reads them (addresses) when one parse gives both: in a valid
// UTF-8 field without "=?" there is no encoded word, and then the word
// decoders that set the two apart do nothing.
func (in *ingestWalk) people(h netmail.Header, key string) []Person {
	v := h.Get(key)
	if strings.TrimSpace(v) == "" || strings.Contains(v, "=?") || !utf8.ValidString(v) {
		return people(h, key)
	}
	list, err := netmail.ParseAddressList(v)
	if err != nil {
		return people(h, key) // each item alone, on both sides
	}
	ps := make([]Person, 0, min(len(list), maxPeople))
	addrs := make([]string, len(list))
	for i, a := range list {
		if i < maxPeople {
			ps = append(ps, person(a))
		}
		addrs[i] = strings.ToLower(a.Address)
	}
	in.addrs = append(in.addrs, fieldAddrs{key, addrs})
	return ps
}

// addresses is addresses(h.Get(key)), from what people kept if it can.
func (in *ingestWalk) addresses(h netmail.Header, key string) []string {
	for _, f := range in.addrs {
		if f.key == key {
			return f.addrs
		}
	}
	return addresses(h.Get(key))
}
