package mail

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// isWordRune is what a search word is made of: letters, digits and marks
// (the token characters of SQLite's unicode61 tokenizer, roughly).
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// asciiWord classes bytes for appendWords: 1 is a word byte as it is
// (a-z, 0-9), 2 an upper-case ASCII letter, 0 any other byte (in ASCII,
// isWordRune holds for exactly these letters and digits; bytes from 0x80
// start runes, decoded apart).
var asciiWord = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = 1
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = 1
		t[c-'a'+'A'] = 2
	}
	return t
}()

// SearchWords splits s into search words: lower-cased runs of letters,
// digits and marks, each cut to MaxWordBytes. Index text and query text go
// through it alike, so "alice@example.com" is the words alice example com
// on both sides.
func SearchWords(s string) []string {
	joined := joinWords(s)
	if joined == "" {
		return nil
	}
	return strings.Split(joined, " ") // a word holds no space
}

// joinWords is SearchWords(s) joined by single spaces, written at once:
// the index stores that form, and a 10 KB body is thousands of words.
func joinWords(s string) string {
	return string(appendWords(make([]byte, 0, len(s)), 0, s))
}

// appendWords appends the search words of s to dst, each after a space
// unless dst holds nothing past base (where the field being written
// starts): text appended in pieces gives the words of the pieces joined
// by a space (a separator). A word is cut as cutUTF8 would
// cut its lower-cased form: the runes that fit in MaxWordBytes, nothing
// after the first that does not. Runs of ASCII are copied whole; only
// other runes are decoded (an invalid byte decodes to utf8.RuneError, no
// word rune). dst is a slice, not a strings.Builder: appending to a local
// slice costs no write barrier per byte while the GC runs.
func appendWords(dst []byte, base int, s string) []byte {
	n, full, in := 0, false, false // the current word's bytes; cut; inside one
	for i := 0; i < len(s); {
		c := s[i]
		var r rune
		size := 1
		if c < utf8.RuneSelf {
			if asciiWord[c] == 0 {
				in = false
				i++
				continue
			}
		} else if r, size = utf8.DecodeRuneInString(s[i:]); !isWordRune(r) {
			in = false
			i += size
			continue
		}
		if !in {
			if len(dst) > base {
				dst = append(dst, ' ')
			}
			n, full, in = 0, false, true
		}
		if c >= utf8.RuneSelf {
			i += size
			if full {
				continue
			}
			l := unicode.ToLower(r) // as strings.ToLower maps each rune
			if ln := utf8.RuneLen(l); n+ln <= MaxWordBytes {
				dst = utf8.AppendRune(dst, l)
				n += ln
			} else {
				full = true
			}
			continue
		}
		j, class := i, uint8(0)
		for j < len(s) && asciiWord[s[j]] != 0 {
			class |= asciiWord[s[j]]
			j++
		}
		if !full {
			k := min(j-i, MaxWordBytes-n)
			full = k < j-i
			dst = appendLowerASCII(dst, s[i:i+k], class&2 != 0)
			n += k
		}
		i = j
	}
	return dst
}

// appendLowerASCII appends s, letters and digits only, lower-cased.
func appendLowerASCII(dst []byte, s string, upper bool) []byte {
	start := len(dst)
	dst = append(dst, s...)
	if upper {
		for i := start; i < len(dst); i++ {
			dst[i] |= 0x20 // a letter's case bit; every digit has it set
		}
	}
	return dst
}

// cutUTF8 cuts s to at most n bytes on a rune boundary.
func cutUTF8(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
