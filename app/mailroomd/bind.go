package main

import (
	"fmt"
	"net"
)

// bindListeners opens every listener mode needs before anything touches the
// data directory: a start that fails because a port is taken (another
// mailroomd, a typo) then leaves no new directory, certificate or database
// behind. The servers take them over in node.add. On error none is open.
func bindListeners(cfg config, mode string) (map[string]net.Listener, error) {
	type want struct{ name, addr string }
	var ws []want
	if mode == "serve" || mode == "smtp" {
		ws = append(ws, want{"smtp", cfg.SMTPAddr})
	}
	if mode == "serve" || mode == "inbox" {
		ws = append(ws, want{"inbox", cfg.InboxAddr})
	}
	if (mode == "serve" && cfg.IMAPAddr != "") || mode == "imap" {
		if cfg.IMAPAddr == "" {
			return nil, fmt.Errorf("imap: --imap-addr is empty")
		}
		ws = append(ws, want{"imap", cfg.IMAPAddr})
	}
	if cfg.PprofAddr != "" {
		ws = append(ws, want{"pprof", cfg.PprofAddr})
	}
	if cfg.MetricsAddr != "" {
		ws = append(ws, want{"metrics", cfg.MetricsAddr})
	}
	bound := make(map[string]net.Listener, len(ws))
	for _, w := range ws {
		ln, err := net.Listen("tcp", w.addr)
		if err != nil {
			closeAll(bound)
			return nil, fmt.Errorf("%s: %w", w.name, err)
		}
		bound[w.name] = ln
	}
	return bound, nil
}

func closeAll(lns map[string]net.Listener) {
	for name, ln := range lns {
		ln.Close()
		delete(lns, name)
	}
}
