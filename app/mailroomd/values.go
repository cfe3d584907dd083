package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"mailroom/adapters/argon2"
	"mailroom/domain/throttle"
)

// This file holds the flag.Value types: each parses one kind of setting and
// refuses a value out of its bounds, so a bad flag or variable fails before
// anything starts.

type enumValue struct {
	p       *string
	allowed []string
}

func (v enumValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v enumValue) Set(s string) error {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, a := range v.allowed {
		if s == a {
			*v.p = s
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(v.allowed, ", "))
}

// addrValue is a listen address, host:port. With optional set, "" is
// accepted too and turns that listener off.
type addrValue struct {
	p        *string
	optional bool
}

func (v addrValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v addrValue) Set(s string) error {
	if s == "" && v.optional {
		*v.p = ""
		return nil
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	*v.p = s
	return nil
}

type domainValue struct{ p *string }

func (v domainValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v domainValue) Set(s string) error {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || len(s) > 253 {
		return errors.New("want a domain name such as example.org")
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("want a domain name such as example.org")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return errors.New("want a domain name such as example.org")
			}
		}
	}
	*v.p = s
	return nil
}

// sizeValue is a byte count between min and max.
type sizeValue struct {
	p        *int64
	min, max int64
}

func (v sizeValue) String() string {
	if v.p == nil {
		return ""
	}
	return formatSize(*v.p)
}

func (v sizeValue) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	if n < v.min || n > v.max {
		return fmt.Errorf("%s is out of range (%s to %s)", s, formatSize(v.min), formatSize(v.max))
	}
	*v.p = n
	return nil
}

// sizeUnits: decimal units are powers of 1000, binary ones (and the bare
// letters, as in nginx) powers of 1024. Matching is case-insensitive.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1000}, {"mb", 1000 * 1000}, {"gb", 1000 * 1000 * 1000},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30},
	{"b", 1},
}

// maxSize is the largest size parseSize gives.
const maxSize = 1 << 62

// parseSize reads a byte count: "1048576", "10MB", "25MiB", "512k".
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a size such as 25MiB, 10MB or 1048576, not %q", s)
	}
	if n > maxSize/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

type rateValue struct{ p *throttle.Rate }

func (v rateValue) String() string {
	if v.p == nil {
		return ""
	}
	return formatRate(*v.p)
}

func (v rateValue) Set(s string) error {
	r, err := throttle.ParseRate(s)
	if err != nil {
		return err
	}
	*v.p = r
	return nil
}

// formatRate writes a Rate the way it is usually typed: 30/10m, not 30/10m0s.
func formatRate(r throttle.Rate) string {
	if r.N == 0 {
		return "off"
	}
	return strconv.Itoa(r.N) + "/" + formatDuration(r.Per)
}

// formatDuration writes d the way it is usually typed: 10m, not 10m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	for _, z := range []string{"m0s", "h0m"} {
		if strings.HasSuffix(s, z) {
			s = strings.TrimSuffix(s, z) + z[:1]
		}
	}
	return s
}

type levelValue struct{ p *zapcore.Level }

func (v levelValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

func (v levelValue) Set(s string) error {
	l, err := zapcore.ParseLevel(strings.TrimSpace(s))
	if err != nil || l > zapcore.ErrorLevel {
		return errors.New("want debug, info, warn or error")
	}
	*v.p = l
	return nil
}

// offDurationValue is a duration of zero or more, for settings where 0
// has a plain meaning: no grace, no cache.
type offDurationValue struct{ p *time.Duration }

func (v offDurationValue) String() string {
	if v.p == nil {
		return ""
	}
	return formatDuration(*v.p)
}

func (v offDurationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < 0 {
		return fmt.Errorf("want a duration such as 30s, not %q", s)
	}
	*v.p = d
	return nil
}

// intValue is an integer between min and max.
type intValue struct {
	p        *int
	min, max int
}

func (v intValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.Itoa(*v.p)
}

func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want a whole number from %d to %d, not %q", v.min, v.max, s)
	}
	if n < v.min || n > v.max {
		return fmt.Errorf("%d is out of range (%d to %d)", n, v.min, v.max)
	}
	*v.p = n
	return nil
}

// argon2Value is argon2id's m, t and p, written "m=19456,t=2,p=1". All
// three are needed, in any order; the salt and key lengths stay as they are.
type argon2Value struct{ p *argon2.Params }

func (v argon2Value) String() string {
	if v.p == nil {
		return ""
	}
	return fmt.Sprintf("m=%d,t=%d,p=%d", v.p.Memory, v.p.Time, v.p.Threads)
}

func (v argon2Value) Set(s string) error {
	const want = "want m=KiB,t=passes,p=threads such as m=19456,t=2,p=1"
	var vals [3]uint64
	var seen [3]bool
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return fmt.Errorf("%s, not %q", want, s)
	}
	for _, f := range fields {
		k, val, ok := strings.Cut(strings.TrimSpace(f), "=")
		i := strings.Index("mtp", strings.ToLower(strings.TrimSpace(k)))
		if !ok || len(strings.TrimSpace(k)) != 1 || i < 0 || seen[i] {
			return fmt.Errorf("%s, not %q", want, s)
		}
		n, err := strconv.ParseUint(strings.TrimSpace(val), 10, 32)
		if err != nil {
			return fmt.Errorf("%s, not %q", want, s)
		}
		vals[i], seen[i] = n, true
	}
	m, t, p := vals[0], vals[1], vals[2]
	switch {
	case p < 1 || p > maxArgon2Threads:
		return fmt.Errorf("p=%d is out of range (1 to %d)", p, maxArgon2Threads)
	case t < 1 || t > maxArgon2Time:
		return fmt.Errorf("t=%d is out of range (1 to %d)", t, maxArgon2Time)
	case m < 8*p || m > maxArgon2Memory:
		return fmt.Errorf("m=%d is out of range (8*p = %d to %d KiB)", m, 8*p, maxArgon2Memory)
	}
	v.p.Memory, v.p.Time, v.p.Threads = uint32(m), uint32(t), uint8(p)
	return nil
}

// durationValue is a positive duration: a limit's zero would mean "no
// limit" to some readers and "the default" to the adapters, so neither is
// offered.
type durationValue struct{ p *time.Duration }

func (v durationValue) String() string {
	if v.p == nil {
		return ""
	}
	return formatDuration(*v.p)
}

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 {
		return fmt.Errorf("want a positive duration such as 10s or 5m, not %q", s)
	}
	*v.p = d
	return nil
}
