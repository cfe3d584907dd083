package archtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
)

const module = "mailroom"

// Import classes usable in a rule besides import paths ("x" is exactly x,
// "x/..." is x and everything under it).
const (
	std        = "<std>"         // the standard library: no dot in the first path element
	thirdParty = "<third-party>" // any other module's package
	anything   = "<anything>"
)

// ioPackages are standard library packages that do IO or reach the system.
// Parsers such as net/mail, net/textproto, net/url and mime are fine.
var ioPackages = []string{
	"net", "net/http/...", "net/rpc/...", "net/smtp", "crypto/tls",
	"os/...", "syscall", "io/ioutil", "database/sql/...", "plugin",
}

// rule says what the packages matching pkg may import. An import matching
// never (and not except) is refused; otherwise it must match may.
type rule struct {
	pkg    string
	kind   string // what the package is, for messages; pkg when empty
	may    []string
	never  []string
	except []string // exceptions to never
}

// name is how violations name the rule's packages.
func (r rule) name() string {
	if r.kind != "" {
		return r.kind + " (" + r.pkg + ")"
	}
	return r.pkg
}

// sharedAdapters are the shared adapter packages of the house style's
// table: pieces several servers and clients use (wire types, the SMTP reply
// table, the listener core). Servers and clients may import them; they may
// import domain, ports and each other, never a server, store, client, app or
// ui. A package becomes shared by being named here, nowhere else.
var sharedAdapters = []string{
	"mailroom/adapters/inboxwire", // the inbox protocol's types and codec
	"mailroom/adapters/listener",  // accept, caps, handshake deadline, recover, shutdown
	"mailroom/adapters/smtpreply", // the SMTP reply table
}

// stores are the store adapters. STYLE's adapter row lets a store import
// the shared packages too, but every shared package is a piece of a network
// protocol, which a store has no use for: a store imports none, so no
// store→wire edge slips in (the SQLite rule once carried a copied exception
// for inboxwire). Both run the schema migrations, embedded by the
// stdlib-only migrations package.
var stores = []string{"mailroom/adapters/sqlite", "mailroom/adapters/postgres"}

// adapterMay is what a server or client may import.
var adapterMay = slices.Concat([]string{std, thirdParty, "mailroom/ports", "mailroom/domain/..."}, sharedAdapters)

// notLayers are the packages no adapter imports, other adapters aside.
var notLayers = []string{"mailroom/app/...", "mailroom/ui/..."}

// rules is the house style's dependency table. The first rule whose pkg
// matches applies; a package no rule matches is itself a violation.
var rules = slices.Concat([]rule{
	{
		pkg:   "mailroom/domain/...",
		may:   []string{std, "mailroom/domain/..."},
		never: append(slices.Clone(ioPackages), "log/...", "crypto/rand", "math/rand/...", "unsafe"),
	},
	{
		pkg:   "mailroom/ports",
		may:   []string{std, "mailroom/domain/..."},
		never: ioPackages,
	},
}, each(stores, func(p string) rule {
	return rule{
		pkg: p, kind: "a store",
		may:   []string{std, thirdParty, "mailroom/ports", "mailroom/domain/...", "mailroom/migrations"},
		never: append([]string{"mailroom/adapters/..."}, notLayers...),
	}
}), each(sharedAdapters, func(p string) rule {
	return rule{
		pkg: p, kind: "a shared adapter package",
		may:    adapterMay,
		never:  append([]string{"mailroom/adapters/..."}, notLayers...),
		except: sharedAdapters,
	}
}), []rule{
	{
		// Servers and clients (and any adapter not named above).
		pkg:    "mailroom/adapters/...",
		may:    adapterMay,
		never:  append([]string{"mailroom/adapters/..."}, notLayers...),
		except: sharedAdapters,
	},
	{
		pkg: "mailroom/app/...",
		may: []string{anything},
	},
	{
		pkg:   "mailroom/ui/...",
		may:   []string{std, thirdParty, "mailroom/ports", "mailroom/domain/...", "mailroom/ui/..."},
		never: []string{"mailroom/adapters/...", "mailroom/app/...", "gioui.org/app/..."},
	},
	{
		pkg: "mailroom/migrations/...",
		may: []string{std},
	},
})

// each makes one rule per package.
func each(pkgs []string, r func(string) rule) []rule {
	out := make([]rule, len(pkgs))
	for i, p := range pkgs {
		out[i] = r(p)
	}
	return out
}

// everywhere applies to every package: nothing imports app.
var everywhere = rule{pkg: "mailroom/...", never: []string{"mailroom/app/..."}}

// topLevel is what the root of the repository may hold; required must exist.
var (
	topLevel = []string{
		"domain", "ports", "adapters", "app", "migrations", "ui",
		"go.mod", "go.sum", "Taskfile.yml", "README.md", "docs", ".ci",
		".gitignore", "LICENSE", ".git",
	}
	required = []string{"domain", "ports", "adapters", "app", "migrations", "go.mod"}
)

// pkg is the part of `go list -json` output the checks read.
type pkg struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string
	Error      *struct{ Err string }
}

func TestDependencyRule(t *testing.T) {
	root := moduleRoot(t)
	pkgs := listPackages(t, root)
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	t.Logf("checking %d packages", len(pkgs))
	for _, p := range pkgs {
		if p.Error != nil {
			t.Logf("%s does not load (its imports are still checked): %s", p.ImportPath, p.Error.Err)
		}
	}
	for _, v := range check(pkgs) {
		t.Error(v)
	}
}

func TestTopLevel(t *testing.T) {
	root := moduleRoot(t)
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, v := range checkTopLevel(names, gitignored(t, root)) {
		t.Error(v)
	}
}

// check gives one line per violation of the rules or of the doc rule.
func check(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		r, ok := ruleFor(p.ImportPath)
		if !ok {
			out = append(out, fmt.Sprintf("%s: no rule in the dependency table covers this package", p.ImportPath))
		}
		for _, imp := range p.Imports {
			if matchAny(everywhere.never, imp) {
				out = append(out, fmt.Sprintf("%s imports %s: nothing imports app", p.ImportPath, imp))
				continue
			}
			if !ok {
				continue
			}
			switch {
			case matchAny(r.never, imp) && !matchAny(r.except, imp):
				out = append(out, fmt.Sprintf("%s imports %s: %s never imports it", p.ImportPath, imp, r.name()))
			case !matchAny(r.may, imp):
				out = append(out, fmt.Sprintf("%s imports %s: %s may not import it", p.ImportPath, imp, r.name()))
			}
		}
		if msg := checkDoc(p); msg != "" {
			out = append(out, msg)
		}
	}
	return out
}

func ruleFor(importPath string) (rule, bool) {
	for _, r := range rules {
		if match(r.pkg, importPath) {
			return r, true
		}
	}
	return rule{}, false
}

// checkDoc wants a doc comment starting "Package <name>". A command may
// instead follow the Go convention for commands: "Command <dir> ..." or
// "<Dir> ..." (go.dev/doc/comment#cmd).
func checkDoc(p pkg) string {
	if p.Name == "" {
		return "" // the package did not load far enough to have a name
	}
	want := []string{"Package " + p.Name}
	if p.Name == "main" {
		dir := path.Base(p.ImportPath)
		r := []rune(dir)
		r[0] = unicode.ToUpper(r[0])
		want = append(want, "Command "+dir, string(r))
	}
	for _, w := range want {
		if rest, ok := strings.CutPrefix(p.Doc, w); ok && (rest == "" || strings.IndexAny(rest[:1], " ,.:;") == 0) {
			return ""
		}
	}
	return fmt.Sprintf("%s: package doc comment must start %q (it is %q)", p.ImportPath, want[0], p.Doc)
}

// checkTopLevel gives one line per unexpected or missing top-level entry.
func checkTopLevel(names []string, ignored func(string) bool) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(topLevel, n) && !ignored(n) {
			out = append(out, fmt.Sprintf("top level: unexpected %q (the layout names %s)", n, strings.Join(topLevel, " ")))
		}
	}
	for _, r := range required {
		if !slices.Contains(names, r) {
			out = append(out, fmt.Sprintf("top level: %q is missing", r))
		}
	}
	return out
}

func matchAny(patterns []string, importPath string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, importPath) })
}

func match(pattern, importPath string) bool {
	ours := importPath == module || strings.HasPrefix(importPath, module+"/")
	switch pattern {
	case anything:
		return true
	case std:
		first, _, _ := strings.Cut(importPath, "/")
		return !ours && !strings.Contains(first, ".")
	case thirdParty:
		first, _, _ := strings.Cut(importPath, "/")
		return !ours && strings.Contains(first, ".")
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return importPath == base || strings.HasPrefix(importPath, base+"/")
	}
	return importPath == pattern
}

// moduleRoot is the directory holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("not inside a module")
	}
	return filepath.Dir(gomod)
}

// listPackages runs go list twice, without and with the gui tag (the GUI
// main is behind it), and merges the answers. -e keeps packages that do not
// load (a colleague's work in progress): their imports are still listed.
// GOPROXY=off keeps the test off the network.
func listPackages(t *testing.T, root string) []pkg {
	t.Helper()
	byPath := map[string]*pkg{}
	var order []string
	for _, tags := range []string{"", "gui"} {
		cmd := exec.Command("go", "list", "-e", "-deps=false", "-json", "-tags="+tags, "./...")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOPROXY=off")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -tags=%q: %v\n%s", tags, err, stderr.Bytes())
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		for {
			var p pkg
			if err := dec.Decode(&p); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("decoding go list output: %v", err)
			}
			prev, ok := byPath[p.ImportPath]
			if !ok {
				byPath[p.ImportPath] = &p
				order = append(order, p.ImportPath)
				continue
			}
			for _, imp := range p.Imports {
				if !slices.Contains(prev.Imports, imp) {
					prev.Imports = append(prev.Imports, imp)
				}
			}
			if prev.Name == "" {
				prev.Name = p.Name
			}
			if prev.Doc == "" {
				prev.Doc = p.Doc
			}
			if p.Error == nil {
				prev.Error = nil
			}
		}
	}
	pkgs := make([]pkg, 0, len(order))
	for _, ip := range order {
		pkgs = append(pkgs, *byPath[ip])
	}
	return pkgs
}

// gitignored reports whether a top-level name is ignored by a root-level
// .gitignore pattern (build output such as /mailroomd or /data/ is not
// part of the layout). Only simple patterns are understood, which is what
// the file holds.
func gitignored(t *testing.T, root string) func(string) bool {
	t.Helper()
	var patterns []string
	f, err := os.Open(filepath.Join(root, ".gitignore"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return func(string) bool { return false }
		}
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "!") {
			continue
		}
		line = strings.TrimSuffix(strings.TrimPrefix(line, "/"), "/")
		if !strings.Contains(line, "/") {
			patterns = append(patterns, line)
		}
	}
	return func(name string) bool {
		for _, p := range patterns {
			if ok, _ := filepath.Match(p, name); ok {
				return true
			}
		}
		return false
	}
}

// ---- the checks themselves can fail ----

func TestCheckReportsViolations(t *testing.T) {
	ok := func(path, name string, imports ...string) pkg {
		return pkg{ImportPath: path, Name: name, Doc: "Package " + name + " does things.", Imports: imports}
	}
	for _, tc := range []struct {
		name string
		pkg  pkg
		want string // substring of the one expected violation; "" for none
	}{
		// domain
		{"domain may use stdlib", ok("mailroom/domain/mail", "mail", "context", "mime", "net/mail", "net/textproto", "mailroom/domain/account"), ""},
		{"domain importing net", ok("mailroom/domain/mail", "mail", "net"), "imports net: mailroom/domain/... never"},
		{"domain importing net/http", ok("mailroom/domain/mail", "mail", "net/http"), "imports net/http:"},
		{"domain importing os", ok("mailroom/domain/account", "account", "os"), "imports os:"},
		{"domain importing os/exec", ok("mailroom/domain/account", "account", "os/exec"), "imports os/exec:"},
		{"domain importing database/sql", ok("mailroom/domain/account", "account", "database/sql"), "imports database/sql:"},
		{"domain importing syscall", ok("mailroom/domain/account", "account", "syscall"), "imports syscall:"},
		{"domain importing io/ioutil", ok("mailroom/domain/account", "account", "io/ioutil"), "imports io/ioutil:"},
		{"domain logging", ok("mailroom/domain/account", "account", "log"), "imports log:"},
		{"domain importing zap", ok("mailroom/domain/account", "account", "go.uber.org/zap"), "imports go.uber.org/zap: mailroom/domain/... may not"},
		{"domain importing ports", ok("mailroom/domain/mail", "mail", "mailroom/ports"), "imports mailroom/ports:"},
		{"domain importing an adapter", ok("mailroom/domain/mail", "mail", "mailroom/adapters/inboxwire"), "imports mailroom/adapters/inboxwire:"},
		// ports
		{"ports may use domain", ok("mailroom/ports", "ports", "context", "time", "mailroom/domain/account"), ""},
		{"ports importing database/sql", ok("mailroom/ports", "ports", "database/sql"), "imports database/sql: mailroom/ports never"},
		{"ports importing net", ok("mailroom/ports", "ports", "net"), "imports net:"},
		{"ports importing an adapter", ok("mailroom/ports", "ports", "mailroom/adapters/sqlite"), "imports mailroom/adapters/sqlite:"},
		{"ports importing ui", ok("mailroom/ports", "ports", "mailroom/ui"), "imports mailroom/ui:"},
		{"ports importing a library", ok("mailroom/ports", "ports", "github.com/emersion/go-smtp"), "imports github.com/emersion/go-smtp:"},
		// adapters
		{"adapter may use ports, domain, wire types, libraries", ok("mailroom/adapters/smtpserver", "smtpserver", "net", "mailroom/ports", "mailroom/domain/mail", "mailroom/adapters/inboxwire", "github.com/emersion/go-smtp"), ""},
		{"adapter importing another adapter", ok("mailroom/adapters/smtpserver", "smtpserver", "mailroom/adapters/sqlite"), "imports mailroom/adapters/sqlite: mailroom/adapters/... never"},
		{"adapter importing app", ok("mailroom/adapters/client", "client", "mailroom/app/mailroomd"), "nothing imports app"},
		{"adapter importing ui", ok("mailroom/adapters/client", "client", "mailroom/ui"), "imports mailroom/ui: mailroom/adapters/... never"},
		{"adapter importing migrations", ok("mailroom/adapters/inboxserver", "inboxserver", "mailroom/migrations"), "imports mailroom/migrations: mailroom/adapters/... may not"},
		{"sqlite may import migrations", ok("mailroom/adapters/sqlite", "sqlite", "database/sql", "mailroom/migrations", "modernc.org/sqlite"), ""},
		{"sqlite importing another adapter", ok("mailroom/adapters/sqlite", "sqlite", "mailroom/adapters/certs"), "imports mailroom/adapters/certs:"},
		{"sqlite importing inboxwire", ok("mailroom/adapters/sqlite", "sqlite", "mailroom/adapters/inboxwire"), "imports mailroom/adapters/inboxwire: a store (mailroom/adapters/sqlite) never"},
		{"sqlite importing the reply table", ok("mailroom/adapters/sqlite", "sqlite", "mailroom/adapters/smtpreply"), "imports mailroom/adapters/smtpreply: a store"},
		{"sqlite importing the listener core", ok("mailroom/adapters/sqlite", "sqlite", "mailroom/adapters/listener"), "imports mailroom/adapters/listener: a store"},
		{"postgres may import migrations", ok("mailroom/adapters/postgres", "postgres", "database/sql", "mailroom/migrations", "mailroom/ports", "github.com/jackc/pgx/v5"), ""},
		{"postgres importing inboxwire", ok("mailroom/adapters/postgres", "postgres", "mailroom/adapters/inboxwire"), "imports mailroom/adapters/inboxwire: a store (mailroom/adapters/postgres) never"},
		{"postgres importing sqlite", ok("mailroom/adapters/postgres", "postgres", "mailroom/adapters/sqlite"), "imports mailroom/adapters/sqlite: a store"},
		// shared adapter packages
		{"server may import every shared package", ok("mailroom/adapters/smtpserver", "smtpserver", "mailroom/adapters/listener", "mailroom/adapters/smtpreply", "mailroom/adapters/inboxwire"), ""},
		{"client may import the wire packages", ok("mailroom/adapters/client", "client", "mailroom/adapters/smtpreply", "mailroom/adapters/inboxwire"), ""},
		{"shared may import domain, ports, each other", ok("mailroom/adapters/smtpreply", "smtpreply", "errors", "mailroom/domain/mail", "mailroom/ports", "mailroom/adapters/inboxwire"), ""},
		{"listener core may use the throttle", ok("mailroom/adapters/listener", "listener", "net", "crypto/tls", "go.uber.org/zap", "mailroom/domain/throttle"), ""},
		{"shared package importing a server", ok("mailroom/adapters/listener", "listener", "mailroom/adapters/smtpserver"), "imports mailroom/adapters/smtpserver: a shared adapter package (mailroom/adapters/listener) never"},
		{"shared package importing a store", ok("mailroom/adapters/inboxwire", "inboxwire", "mailroom/adapters/sqlite"), "imports mailroom/adapters/sqlite: a shared adapter package"},
		{"shared package importing a client", ok("mailroom/adapters/smtpreply", "smtpreply", "mailroom/adapters/client"), "imports mailroom/adapters/client: a shared adapter package"},
		{"shared package importing ui", ok("mailroom/adapters/smtpreply", "smtpreply", "mailroom/ui"), "imports mailroom/ui: a shared adapter package"},
		{"shared package importing migrations", ok("mailroom/adapters/listener", "listener", "mailroom/migrations"), "imports mailroom/migrations: a shared adapter package (mailroom/adapters/listener) may not"},
		{"shared package importing app", ok("mailroom/adapters/listener", "listener", "mailroom/app/mailroomd"), "nothing imports app"},
		{"a package is shared only by being listed", ok("mailroom/adapters/smtpserver", "smtpserver", "mailroom/adapters/storetest"), "imports mailroom/adapters/storetest: mailroom/adapters/... never"},
		// ui
		{"ui may use widgets, ports, domain", ok("mailroom/ui", "ui", "gioui.org/widget/material", "gioui.org/layout", "mailroom/ports", "mailroom/domain/mail", "mailroom/ui/theme"), ""},
		{"ui importing gioui.org/app", ok("mailroom/ui", "ui", "gioui.org/app"), "imports gioui.org/app: mailroom/ui/... never"},
		{"ui importing an adapter", ok("mailroom/ui/screens", "screens", "mailroom/adapters/client"), "imports mailroom/adapters/client:"},
		{"ui importing app", ok("mailroom/ui", "ui", "mailroom/app/mailroom"), "nothing imports app"},
		// app
		{"app may import anything", ok("mailroom/app/mailroomd", "main", "os", "mailroom/adapters/sqlite", "mailroom/ui", "go.uber.org/zap"), ""},
		{"app importing app", ok("mailroom/app/mailroomd", "main", "mailroom/app/config"), "nothing imports app"},
		// migrations
		{"migrations may embed", ok("mailroom/migrations", "migrations", "embed"), ""},
		{"migrations importing a library", ok("mailroom/migrations", "migrations", "github.com/golang-migrate/migrate/v4"), "imports github.com/golang-migrate/migrate/v4: mailroom/migrations/... may not"},
		{"migrations importing domain", ok("mailroom/migrations", "migrations", "mailroom/domain/mail"), "imports mailroom/domain/mail:"},
		// packages outside the table
		{"package outside the table", ok("mailroom/util", "util", "strings"), "mailroom/util: no rule"},
		{"root package", ok("mailroom", "mailroom"), "mailroom: no rule"},
		// doc comments
		{"missing doc", pkg{ImportPath: "mailroom/ports", Name: "ports"}, `must start "Package ports"`},
		{"doc of another name", pkg{ImportPath: "mailroom/ports", Name: "ports", Doc: "Package portsx holds seams."}, `must start "Package ports"`},
		{"doc not starting with Package", pkg{ImportPath: "mailroom/ports", Name: "ports", Doc: "This package holds seams."}, `must start "Package ports"`},
		{"command doc, package form", pkg{ImportPath: "mailroom/app/mailroomd", Name: "main", Doc: "Package main runs the daemon."}, ""},
		{"command doc, Command form", pkg{ImportPath: "mailroom/app/mailroomd", Name: "main", Doc: "Command mailroomd runs the daemon."}, ""},
		{"command doc, name form", pkg{ImportPath: "mailroom/app/mailroomd", Name: "main", Doc: "Mailroomd runs the daemon."}, ""},
		{"command doc missing", pkg{ImportPath: "mailroom/app/mailroomd", Name: "main"}, `must start "Package main"`},
		{"unloadable package: no doc check", pkg{ImportPath: "mailroom/adapters/wip", Imports: []string{"mailroom/ports"}}, ""},
		{"unloadable package: imports still checked", pkg{ImportPath: "mailroom/adapters/wip", Imports: []string{"mailroom/adapters/sqlite"}}, "imports mailroom/adapters/sqlite:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := check([]pkg{tc.pkg})
			switch {
			case tc.want == "" && len(got) != 0:
				t.Errorf("want no violation, got %q", got)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
				t.Errorf("want one violation containing %q, got %q", tc.want, got)
			}
		})
	}
}

func TestCheckTopLevelReports(t *testing.T) {
	complete := []string{"domain", "ports", "adapters", "app", "migrations", "go.mod"}
	ignored := func(n string) bool { return n == "mailroomd" || strings.HasSuffix(n, ".test") }
	for _, tc := range []struct {
		name  string
		names []string
		want  []string // substrings, one per expected violation
	}{
		{"required only", complete, nil},
		{"everything named", append(slices.Clone(complete), "ui", "go.sum", "Taskfile.yml", "README.md", "docs", ".ci", ".gitignore", "LICENSE", ".git"), nil},
		{"ignored build output", append(slices.Clone(complete), "mailroomd", "archtest.test"), nil},
		{"extra file", append(slices.Clone(complete), "main.go"), []string{`unexpected "main.go"`}},
		{"extra dir", append(slices.Clone(complete), "internal", "util"), []string{`unexpected "internal"`, `unexpected "util"`}},
		{"missing migrations", []string{"domain", "ports", "adapters", "app", "go.mod"}, []string{`"migrations" is missing`}},
		{"missing go.mod and app", []string{"domain", "ports", "adapters", "migrations"}, []string{`"app" is missing`, `"go.mod" is missing`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := checkTopLevel(tc.names, ignored)
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %d violations %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("violation %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

// TestLayoutNamesSharedPackages keeps README's layout table in step with
// sharedAdapters: each shared package that exists is described there as
// shared.
func TestLayoutNamesSharedPackages(t *testing.T) {
	root := moduleRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sharedAdapters {
		dir := strings.TrimPrefix(p, module+"/")
		if _, err := os.Stat(filepath.Join(root, dir)); err != nil {
			continue // not written yet
		}
		if !strings.Contains(string(readme), "| `"+dir+"` | shared: ") {
			t.Errorf("README.md's layout table has no row \"| `%s` | shared: …\"", dir)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{std, "net/mail", true},
		{std, "C", true},
		{std, "mailroom/ports", false},
		{std, "mailroom", false},
		{std, "gioui.org/app", false},
		{thirdParty, "gioui.org/app", true},
		{thirdParty, "mailroom/ports", false},
		{thirdParty, "fmt", false},
		{"net", "net", true},
		{"net", "net/mail", false},
		{"os/...", "os", true},
		{"os/...", "os/exec", true},
		{"os/...", "osx", false},
		{"mailroom/adapters/...", "mailroom/adapters", true},
		{"mailroom/adapters/...", "mailroom/adaptersx", false},
		{anything, "whatever.org/x", true},
	} {
		if got := match(tc.pattern, tc.path); got != tc.want {
			t.Errorf("match(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}
