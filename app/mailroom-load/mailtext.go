package main

import (
	"fmt"
	"strings"
)

// minMailSize is the smallest --size that --text mail can fill: its
// headers alone are about 1.7 KB.
const minMailSize = 3 << 10

// mailMessage builds message n as mail usually arrives, exactly size bytes
// on the wire before the final ".\r\n": a relay's headers (Received, a
// DKIM signature), then multipart/alternative with the text as plain
// lines and again as HTML, one styled paragraph per line, as mail
// programs send it. A third or so of the bytes are words to index; the
// rest is headers and markup. The lines are at most 78 columns and never
// start with a dot.
func mailMessage(size, n int, word func() string) []byte {
	var head strings.Builder
	for hop := range 3 {
		fmt.Fprintf(&head, "Received: from mx%d.example.net (mx%d.example.net [192.0.2.%d])\r\n"+
			"\tby mail.example.org (Postfix) with ESMTPS id %08X%d\r\n"+
			"\tfor <load@localhost>; Tue, 1 Dec 2026 10:%02d:%02d +0000\r\n", hop, hop, 1+n%250, n*7919, hop, hop, n%60)
	}
	head.WriteString("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.net; s=s2026;\r\n" +
		"\th=from:to:subject:date:message-id:mime-version:content-type;\r\n" +
		"\tbh=" + sig(n, 44) + ";\r\n\tb=")
	for i := range 5 {
		if i > 0 {
			head.WriteString("\r\n\t  ")
		}
		head.WriteString(sig(n+1+i, 68))
	}
	subject := make([]string, 6)
	for i := range subject {
		subject[i] = word()
	}
	boundary := fmt.Sprintf("=_alt_%08x", n*2654435761%(1<<32))
	fmt.Fprintf(&head, "\r\nFrom: Load Sender <load@localhost>\r\nTo: load <load@localhost>\r\n"+
		"Subject: %s\r\nDate: Tue, 1 Dec 2026 10:00:%02d +0000\r\nMessage-ID: <mailroom-load-%d@localhost>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n",
		strings.Join(subject, " "), n%60, n, boundary)
	plainHead := "--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
	htmlHead := "\r\n--" + boundary + "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" +
		"<html><head><meta charset=\"utf-8\"></head>\r\n<body style=\"margin:0;padding:16px;background:#ffffff\">\r\n"
	const pOpen, pClose = "<p style=\"margin:0 0 8px;font:14px/1.4 Arial,sans-serif;color:#222\">\r\n", "</p>\r\n"
	htmlTail := "</body></html>\r\n"
	closing := "\r\n--" + boundary + "--\r\n"
	fixed := head.Len() + len(plainHead) + len(htmlHead) + len(htmlTail) + len(closing)
	// Each line of words goes out twice, once bare and once in a
	// paragraph; the rest is padding, a line of x's or a few.
	var lines []string
	used := fixed + 3
	for {
		l := wordLine(word, 60)
		cost := 2*(len(l)+2) + len(pOpen) + len(pClose)
		if used+cost > size {
			break
		}
		lines = append(lines, l)
		used += cost
	}
	var b strings.Builder
	b.WriteString(head.String())
	b.WriteString(plainHead)
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString(htmlHead)
	for _, l := range lines {
		b.WriteString(pOpen + l + "\r\n" + pClose)
	}
	b.WriteString(htmlTail)
	pad(&b, size-b.Len()-len(closing))
	b.WriteString(closing)
	b.WriteString(".\r\n")
	return []byte(b.String())
}

// wordLine joins word's words up to width columns.
func wordLine(word func() string, width int) string {
	var line strings.Builder
	for {
		w := word()
		if line.Len() > 0 && line.Len()+1+len(w) > width {
			return line.String()
		}
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(w)
	}
}

// pad writes exactly n bytes (n ≥ 3) of lines of x's, each at most 76
// columns.
func pad(b *strings.Builder, n int) {
	for n > 78 {
		b.WriteString(strings.Repeat("x", 74) + "\r\n")
		n -= 76
	}
	b.WriteString(strings.Repeat("x", n-2) + "\r\n")
}

// sig is base64-looking text of length k, different for each n.
func sig(n, k int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	out := make([]byte, k)
	x := uint64(n)*0x9E3779B97F4A7C15 + 1
	for i := range out {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		out[i] = alphabet[x%64]
	}
	return string(out)
}
