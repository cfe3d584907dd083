package inboxserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailroom/adapters/sqlite"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// childEnv makes the test binary a delivering child process (see runChild).
const childEnv = "MAILROOM_INBOXSERVER_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(loadEnv); spec != "" {
		if err := loadMain(spec); err != nil {
			fmt.Fprintln(os.Stderr, "load child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if spec := os.Getenv(changerEnv); spec != "" {
		if err := changerMain(spec); err != nil {
			fmt.Fprintln(os.Stderr, "changer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if spec := os.Getenv(childEnv); spec != "" {
		if err := childMain(spec); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	os.Exit(code)
}

// other is a second Store on the same database file, as a second process
// (mailroomd's SMTP side, say) would have.
type other struct {
	store *sqlite.Store
	acc   *account.Service
	mb    *mail.Service
}

func openOther(t testing.TB, path string) *other {
	t.Helper()
	o, err := openStore(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.store.Close() })
	return o
}

func openStore(path string) (*other, error) {
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: path})
	if err != nil {
		return nil, err
	}
	acc := account.NewService(st, testHasher(), account.Config{Domain: testDomain}, nil)
	// No notifier: the server's feed must notice this store's commits
	// through the database alone.
	return &other{store: st, acc: acc, mb: mail.NewService(st, acc, nil, mail.Config{}, nil)}, nil
}

func (o *other) deliver(t testing.TB, from, to, subject string) []mail.Meta {
	t.Helper()
	sender, err := o.acc.Lookup(context.Background(), from)
	if err != nil {
		t.Fatal(err)
	}
	metas, err := deliverVia(context.Background(), o.mb, sender, []string{to}, rawMessage(from, []string{to}, subject))
	if err != nil {
		t.Fatal(err)
	}
	return metas
}

// childMain delivers count messages, spaced by gap, and prints one line
// per delivery: the inbox entry id and the unix-nanosecond time Deliver
// returned (the moment SMTP would answer 250).
// spec is path|from|to|subject|count|gap.
func childMain(spec string) error {
	f := strings.Split(spec, "|")
	if len(f) != 6 {
		return fmt.Errorf("bad spec %q", spec)
	}
	count, err := strconv.Atoi(f[4])
	if err != nil {
		return err
	}
	gap, err := time.ParseDuration(f[5])
	if err != nil {
		return err
	}
	o, err := openStore(f[0])
	if err != nil {
		return err
	}
	defer o.store.Close()
	ctx := context.Background()
	sender, err := o.acc.Lookup(ctx, f[1])
	if err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	for i := range count {
		time.Sleep(gap)
		metas, err := deliverVia(ctx, o.mb, sender, []string{f[2]}, rawMessage(f[1], []string{f[2]}, f[3]))
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%d %d\n", metas[0].ID, time.Now().UnixNano())
		w.Flush()
		_ = i
	}
	return nil
}

// startChild re-executes the test binary as a child process that delivers
// through its own Store; lines gives its output lines as they come.
func startChild(t testing.TB, path, from, to, subject string, count int, gap time.Duration) (lines <-chan string, wait func()) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%s|%s|%d|%s", childEnv, path, from, to, subject, count, gap))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, count)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch, func() {
		t.Helper()
		if err := cmd.Wait(); err != nil {
			t.Errorf("child: %v", err)
		}
	}
}

// runChild runs a child to completion and gives the inbox entry ids.
func runChild(t testing.TB, path, from, to, subject string, count int) []int64 {
	t.Helper()
	lines, wait := startChild(t, path, from, to, subject, count, 0)
	var ids []int64
	for l := range lines {
		id, _, _ := strings.Cut(l, " ")
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			t.Fatalf("child said %q", l)
		}
		ids = append(ids, n)
	}
	wait()
	if len(ids) != count {
		t.Fatalf("child delivered %d, want %d", len(ids), count)
	}
	return ids
}

func tlsClient(raw net.Conn, pool *x509.CertPool) *tls.Conn {
	return tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
}
