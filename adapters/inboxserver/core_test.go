package inboxserver

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"mailroom/adapters/certs"
	"mailroom/adapters/inboxwire"
	"mailroom/adapters/listener"
	"mailroom/domain/account"
)

// The connection plumbing is the listener core's (tested there); these
// tests check how the inbox server uses it.

// trapAccounts panics on a login as "panic" and blocks a login as "block"
// until its context ends, saying when it starts (inHand) and with what
// error the context ended (blocked).
type trapAccounts struct {
	Accounts
	inHand  chan struct{}
	blocked chan error
}

func (a trapAccounts) Login(ctx context.Context, client, user, password string) (account.Account, error) {
	switch user {
	case "panic":
		panic("trap")
	case "block":
		a.inHand <- struct{}{}
		<-ctx.Done()
		a.blocked <- ctx.Err()
		return account.Account{}, ctx.Err()
	}
	return a.Accounts.Login(ctx, client, user, password)
}

func TestPanicAnswersInternalAndOnlyThatConnectionEnds(t *testing.T) {
	core, logs := observer.New(zap.ErrorLevel)
	e := newEnv(t, envOpts{
		log:      zap.New(core),
		accounts: func(e *env) Accounts { return trapAccounts{Accounts: e.acc} },
	})
	other := e.login("bob")
	c := e.dial()
	c.sendLine(`{"tag":"t1","op":"login","user":"panic","password":"x"}`)
	r := c.response()
	if r.OK || string(r.Tag) != `"t1"` || r.Error == nil || r.Error.Code != inboxwire.CodeInternal {
		t.Fatalf("after a panic: got %+v (error %v), want internal tagged t1", r, errOf(r))
	}
	c.closed(5 * time.Second)
	other.ok(`{"op":"count","folder":"inbox"}`)
	e.login("bob").ok(`{"op":"ping"}`)
	entries := logs.FilterMessage("panic serving connection").All()
	if len(entries) != 1 {
		t.Fatalf("%d panic log entries, want 1", len(entries))
	}
	if stack, _ := entries[0].ContextMap()["stack"].(string); !strings.Contains(stack, "trapAccounts") {
		t.Errorf("the logged stack misses the panic:\n%s", stack)
	}
	eventually(t, "the session to be forgotten", func() bool {
		e.srv.mu.Lock()
		defer e.srv.mu.Unlock()
		return len(e.srv.conns) == 2
	})
}

func TestShutdownCutsARequestAndCountsIt(t *testing.T) {
	inHand, blocked := make(chan struct{}, 1), make(chan error, 1)
	e := newEnv(t, envOpts{
		accounts: func(e *env) Accounts {
			return trapAccounts{Accounts: e.acc, inHand: inHand, blocked: blocked}
		},
	})
	idle := e.login("bob")
	c := e.dial()
	c.ok(`{"op":"ping"}`)
	c.sendLine(`{"op":"login","user":"block","password":"x"}`)
	<-inHand
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := e.srv.Shutdown(ctx)
	var cut *listener.CutError
	if !errors.As(err, &cut) || cut.Conns != 1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown gave %v, want one connection cut after the deadline", err)
	}
	// The domain call ran under the connection's context, which the cut
	// cancelled.
	if err := <-blocked; !errors.Is(err, context.Canceled) {
		t.Errorf("the blocked login's context ended with %v", err)
	}
	idle.closed(5 * time.Second)
	c.closed(5 * time.Second)
}

func TestTLS12OffersOnlyAEAD(t *testing.T) {
	e := newEnv(t, envOpts{})
	_, err := tls.Dial("tcp", e.addr, &tls.Config{
		RootCAs: e.pool, ServerName: "127.0.0.1", MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA},
	})
	if err == nil {
		t.Fatal("a CBC-only TLS 1.2 client got through")
	}
}

func TestNewPanicsOnANilLogger(t *testing.T) {
	cert, _ := testCert(t)
	e := newEnv(t, envOpts{})
	defer func() {
		if recover() == nil {
			t.Error("New with a nil logger did not panic")
		}
	}()
	New(Config{TLS: certs.ServerConfig(cert)}, e.acc, e.mb, e.feed, nil)
}

// Issue 15: a client that speaks clear text to the TLS port reads one
// line saying so, in clear, and is closed.
func TestPlainTextClientToldTLS(t *testing.T) {
	e := newEnv(t, envOpts{})
	raw, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := raw.Write([]byte(`{"op":"ping"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(raw)
	var r inboxwire.Response
	if err := json.Unmarshal(got, &r); err != nil || r.OK || r.Tag != nil || r.Error == nil ||
		r.Error.Code != inboxwire.CodeBadRequest || !strings.Contains(r.Error.Message, "TLS") {
		t.Fatalf("got %q, want one untagged bad_request about TLS", got)
	}
	e.dial().ok(`{"op":"ping"}`)
}
