package main

import (
	"fmt"
	"strings"
	"time"

	"mailroom/adapters/postgres"
)

// usageError is a bad command line or environment value: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

// check validates combinations the single flags cannot.
func (c *config) check() error {
	if (c.CertFile == "") != (c.KeyFile == "") {
		return usagef("flags --cert and --key go together: give both or neither")
	}
	if c.DataDir == "" {
		return usagef("flag --data: empty directory")
	}
	// SQLite counts its busy timeout in whole milliseconds: less would be 0,
	// which means not waiting at all.
	if c.DBBusyTimeout < time.Millisecond {
		return usagef("flag --db-busy-timeout: %s is below 1ms", c.DBBusyTimeout)
	}
	if c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		// The value is quoted without its password: a URL of another
		// scheme may still carry one.
		return usagef("flag --db: %q is not a postgres:// or postgresql:// URL (leave it empty for the SQLite file in --data)", postgres.RedactURL(c.DB))
	}
	if c.MetricsAddr != "" && !c.MetricsPublic {
		if err := (loopbackAddrValue{new(string)}).Set(c.MetricsAddr); err != nil {
			return usagef("flag --metrics-addr: %q is not a loopback address; give --metrics-public to serve metrics on it", c.MetricsAddr)
		}
	}
	return nil
}
