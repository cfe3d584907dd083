package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode non-UTF-8 parts
	gomail "github.com/emersion/go-message/mail"

	"mailroom/ports"
)

// Bounds on parsing a fetched message: the raw message is already bounded
// by the response line, these keep a hostile MIME tree from growing it.
const (
	maxParts     = 1000
	maxPartBytes = 64 << 20
)

// qualify gives a recipient as an address: a bare name gets the sender's
// domain, since the server only delivers locally.
func qualify(rcpt, from string) string {
	rcpt = strings.TrimSpace(rcpt)
	if strings.Contains(rcpt, "@") {
		return rcpt
	}
	_, domain, _ := strings.Cut(from, "@")
	return rcpt + "@" + domain
}

// BuildMessage writes d as an RFC 5322 MIME message from from: a single
// text/plain part, or multipart/mixed with the text first and one part per
// attachment. The subject is RFC 2047 encoded when not ASCII. Send submits
// exactly this; the UI also stores it in the Drafts folder (a draft with no
// recipients yet is fine), so that a draft reads back as it will be sent.
func BuildMessage(d ports.Draft, from string, now time.Time) ([]byte, error) {
	h, err := draftHeader(d, from, now)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if len(d.Attachments) == 0 {
		h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
		w, err := gomail.CreateSingleInlineWriter(&buf, h)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, d.Body); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}

	mw, err := gomail.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	var th gomail.InlineHeader
	th.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	tw, err := mw.CreateSingleInline(th)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(tw, d.Body); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	for _, a := range d.Attachments {
		if err := writeAttachment(mw, a); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// draftHeader is the top-level header of a draft sent from from at now:
// addresses, subject, date, a fresh Message-ID and the reply threading.
func draftHeader(d ports.Draft, from string, now time.Time) (gomail.Header, error) {
	var h gomail.Header
	fromAddr := &gomail.Address{Address: from}
	h.SetAddressList("From", []*gomail.Address{fromAddr})
	to := make([]*gomail.Address, 0, len(d.To))
	for _, r := range d.To {
		to = append(to, &gomail.Address{Address: qualify(r, from)})
	}
	h.SetAddressList("To", to)
	h.SetSubject(d.Subject)
	h.SetDate(now)
	_, domain, _ := strings.Cut(from, "@")
	if domain == "" {
		domain = "localhost"
	}
	if err := h.GenerateMessageIDWithHostname(domain); err != nil {
		return h, err
	}
	if id := strings.Trim(strings.TrimSpace(d.InReplyTo), "<>"); id != "" {
		h.SetMsgIDList("In-Reply-To", []string{id})
		h.SetMsgIDList("References", []string{id})
	}
	h.Set("MIME-Version", "1.0")
	return h, nil
}

// writeAttachment adds a as one attachment part of mw.
func writeAttachment(mw *gomail.Writer, a ports.Attachment) error {
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("client: attachment %q: content type %q: %w", a.Name, a.ContentType, err)
	}
	var ah gomail.AttachmentHeader
	ah.SetContentType(mt, params)
	ah.SetFilename(a.Name)
	aw, err := mw.CreateAttachment(ah)
	if err != nil {
		return err
	}
	if _, err := aw.Write(a.Data); err != nil {
		return err
	}
	return aw.Close()
}

// parseMessage fills b's MessageID, InReplyTo, Text, HTML and Attachments from raw. It
// is lenient, as a mail reader must be: a message that is not MIME is one
// text/plain body, an unknown charset is shown undecoded, and a malformed
// part ends the walk with what was read so far. Text and HTML get "\n" line
// endings.
func parseMessage(raw []byte, b *ports.Body) {
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if mr == nil {
		// Not even a header block: show the bytes as text.
		b.Text = normalizeNewlines(string(raw))
		return
	}
	_ = err // an unknown charset still gives a usable reader
	if id, err := mr.Header.MessageID(); err == nil {
		b.MessageID = id
	}
	if ids, err := mr.Header.MsgIDList("In-Reply-To"); err == nil && len(ids) > 0 {
		b.InReplyTo = ids[0]
	}
	for n := 0; n < maxParts; n++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) || p == nil {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) {
			break
		}
		data, rerr := io.ReadAll(io.LimitReader(p.Body, maxPartBytes))
		if rerr != nil && len(data) == 0 {
			break
		}
		switch h := p.Header.(type) {
		case *gomail.InlineHeader:
			ct, _, _ := h.ContentType()
			switch ct {
			case "", "text/plain":
				if b.Text == "" {
					b.Text = normalizeNewlines(string(data))
					continue
				}
			case "text/html":
				if b.HTML == "" {
					b.HTML = normalizeNewlines(string(data))
					continue
				}
			}
			// A second text part, or inline non-text: keep it as an attachment.
			b.Attachments = append(b.Attachments, attachment(&h.Header, "", data))
		case *gomail.AttachmentHeader:
			name, _ := h.Filename()
			ct, _, _ := h.ContentType()
			disp, _, _ := h.ContentDisposition()
			if ct == "" && disp == "" && b.Text == "" {
				// A part without Content-Type is text/plain (RFC 2045 §5.2);
				// go-message files it as an attachment.
				b.Text = normalizeNewlines(string(data))
				continue
			}
			b.Attachments = append(b.Attachments, attachment(&h.Header, name, data))
		}
	}
}

func attachment(h *message.Header, name string, data []byte) ports.Attachment {
	ct, params, _ := h.ContentType()
	if ct == "" {
		ct = "text/plain"
	}
	if name == "" {
		name = params["name"]
		if dec, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
			name = dec
		}
	}
	return ports.Attachment{Name: name, ContentType: ct, Data: data}
}

func normalizeNewlines(s string) string {
	return strings.ReplaceAll(s, "\r\n", "\n")
}
