package mail

import (
	"encoding/base64"
	"io"
	"mime"
	netmail "net/mail"
	"strings"
	"unicode/utf8"
)

// maxPeople bounds the people kept from one header field.
const maxPeople = 1000

// decodeText reads at most limit bytes of body and undoes its transfer
// encoding and charset. It gives "" when nothing could be decoded.
func decodeText(body io.Reader, cte, charset string, limit int) string {
	b, _ := readUpTo(body, limit)
	if len(b) == 0 {
		return ""
	}
	return decodeBytes(b, cte, charset)
}

// decodeBytes undoes b's transfer encoding and charset. b is not changed
// (it may be the message itself).
func decodeBytes(b []byte, cte, charset string) string {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		b = decodeBase64(b)
	case "quoted-printable":
		// A bad escape ends the decoding; what came before it stands.
		b = decodeQP(b) // quotedprintable.NewReader's answer, in one pass
	}
	return toUTF8(b, charset)
}

// decodeBase64 ignores every character outside the base64 alphabet, as RFC
// 2045 §6.8 asks, and decodes up to the padding, so that a body cut at its
// limit still decodes.
func decodeBase64(b []byte) []byte {
	clean := make([]byte, 0, len(b))
scan:
	for _, c := range b {
		switch {
		case c == '=':
			break scan
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
			clean = append(clean, c)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1] // six bits are not a byte
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, _ := base64.RawStdEncoding.Decode(out, clean) // cannot fail on this alphabet
	return out[:n]
}

// cp1252 maps windows-1252's 0x80–0x9F; 0 marks the five unassigned bytes.
var cp1252 = [32]rune{
	'€', 0, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0, 'Ž', 0,
	0, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0, 'ž', 'Ÿ',
}

// toUTF8 converts b from charset. Latin-1 and windows-1252 are converted by
// hand; every other charset (UTF-8 and US-ASCII included) keeps only the
// valid UTF-8 in b, which is right for UTF-8 and ASCII and spares a table
// per charset for the rest (the domain uses the standard library only).
func toUTF8(b []byte, charset string) string {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "cp819", "ibm819":
		var sb strings.Builder
		sb.Grow(len(b))
		for _, c := range b {
			sb.WriteRune(rune(c))
		}
		return sb.String()
	case "windows-1252", "cp1252", "x-cp1252":
		var sb strings.Builder
		sb.Grow(len(b))
		for _, c := range b {
			switch {
			case c < 0x80 || c >= 0xA0:
				sb.WriteRune(rune(c))
			case cp1252[c-0x80] != 0:
				sb.WriteRune(cp1252[c-0x80])
			}
		}
		return sb.String()
	}
	if utf8.Valid(b) { // the usual case, checked a word at a time
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "")
}

// textWordDecoder decodes RFC 2047 encoded words in the charsets toUTF8 knows
// (mime decodes UTF-8, ISO-8859-1 and US-ASCII itself).
var textWordDecoder = &mime.WordDecoder{
	CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
		b, err := io.ReadAll(input) // an encoded word is short
		if err != nil {
			return nil, err
		}
		return strings.NewReader(toUTF8(b, charset)), nil
	},
}

// decodeHeader gives a header field's text with its encoded words decoded,
// or the field as it is (valid UTF-8 only) when they do not decode.
func decodeHeader(s string) string {
	if d, err := textWordDecoder.DecodeHeader(s); err == nil {
		s = d
	}
	return strings.ToValidUTF8(s, "")
}

// people gives the addresses of the header field key.
func people(h netmail.Header, key string) []Person {
	v := h.Get(key)
	if strings.TrimSpace(v) == "" {
		return nil
	}
	p := netmail.AddressParser{WordDecoder: textWordDecoder}
	list, err := p.ParseList(v)
	if err == nil {
		out := make([]Person, 0, min(len(list), maxPeople))
		for _, a := range list[:min(len(list), maxPeople)] {
			out = append(out, person(a))
		}
		return out
	}
	// One malformed address must not hide the rest: each comma-separated
	// item alone, and an item that still does not parse as its words,
	// which are still worth indexing.
	var out []Person
	for _, item := range strings.Split(v, ",") {
		if len(out) == maxPeople {
			break
		}
		if a, err := p.Parse(item); err == nil {
			out = append(out, person(a))
		} else if t := strings.TrimSpace(decodeHeader(item)); t != "" {
			out = append(out, Person{Name: t})
		}
	}
	return out
}

func person(a *netmail.Address) Person {
	return Person{Name: strings.ToValidUTF8(a.Name, ""), Addr: strings.ToValidUTF8(a.Address, "")}
}

// fileName gives an attachment's name from its Content-Disposition
// parameters, else its Content-Type ones. mime decodes RFC 2231 (with its
// continuations) in UTF-8 and US-ASCII; RFC 2047 words, which many senders
// put in a quoted name against the RFC, are decoded here.
func fileName(disposition, contentType map[string]string) string {
	name := disposition["filename"]
	if name == "" {
		name = contentType["name"]
	}
	return decodeHeader(name)
}
