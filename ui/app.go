// Package ui is Mailroom's Gio client: the page router, the theme and the
// pages (server setup and trust, login and registration, the mailbox list,
// the reader, compose and settings). It talks to a server only through
// ports.Client and ports.Session. Network calls run in goroutines and hand
// their results back to the frame loop over a channel, waking it with an
// invalidate func injected by the main package; ui never imports
// gioui.org/app.
package ui

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gioui.org/io/key"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/text"
	"gioui.org/widget"

	"mailroom/domain/account"
	"mailroom/ports"
	"mailroom/ui/model"
)

// route names a page.
type route int

const (
	routeSetup route = iota
	routeLogin
	routeMailbox
	routeReader
	routeCompose
	routeSettings
)

// App is the whole client UI: router, state and pages. Its methods run on
// the frame loop's goroutine, except where said.
type App struct {
	cfg     Config
	shaper  *text.Shaper
	th      *Theme
	results chan func()
	// inflight counts one-shot calls from start until their result is
	// queued (tests wait for it to drop to zero).
	inflight atomic.Int64
	ctx      context.Context
	cancel   context.CancelFunc
	// flushing counts deletes on their way to the server and ended
	// sessions still closing; Close waits for them.
	flushing sync.WaitGroup

	settings model.Settings
	stack    []route
	focus    any // editor to focus in the next frame

	// blocked is set when the server's certificate no longer matches the
	// pin; nothing connects until the user deals with it.
	blocked bool

	// retryBase is the first wait before retrying an unreachable server.
	retryBase time.Duration

	toast      string
	toastUntil time.Time
	snack      snackbar

	// wide is whether the last frame had the list beside the reader.
	wide bool

	sess    *session
	dialog  folderDialog
	outbox  outbox
	drafts  drafts
	notices notices

	setup        setupPage
	login        loginPage
	mailbox      mailboxPage
	reader       readerPage
	compose      composePage
	settingsPage settingsPage
	blockPage    blockedPage
}

// New builds the App and loads the settings from cfg.DataDir.
func New(cfg Config) *App {
	if cfg.Client == nil {
		panic("ui: nil Client")
	}
	if cfg.Invalidate == nil {
		cfg.Invalidate = func() {}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 20 * time.Second
	}
	if cfg.TransferTimeout == 0 {
		cfg.TransferTimeout = 10 * time.Minute
	}
	if cfg.AfterFunc == nil {
		cfg.AfterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	a := &App{cfg: cfg, shaper: newShaper(), results: make(chan func(), 256), retryBase: firstRetry}
	a.drafts.delay = draftDelay
	a.ctx, a.cancel = context.WithCancel(context.Background())
	s, err := model.LoadSettings(cfg.DataDir)
	a.settings = s
	a.setNotify(!s.NoNotify)
	a.applyTheme()
	a.setup.init(s)
	a.login.init(s)
	a.mailbox.init()
	a.reader.init()
	a.compose.init()
	a.loadOutbox()
	_ = model.RemoveHTML(cfg.DataDir) // what "Open in browser" left last time
	if s.Trusted() {
		a.stack = []route{routeLogin}
		a.focusLogin()
		a.checkServer()
	} else {
		a.stack = []route{routeSetup}
		a.focus = &a.setup.host
	}
	if err != nil {
		a.showToast("Could not read settings; starting afresh.")
	}
	return a
}

// Close ends the session and every background call. It waits (up to
// Config.Timeout) for the deletes already sent and the one still waiting
// on its undo to reach the server, since the process may exit right after.
func (a *App) Close() {
	if a.outbox.stop != nil {
		a.outbox.stop()
	}
	a.flushDraft()
	a.endSession()
	a.cancel()
	done := make(chan struct{})
	go func() {
		a.flushing.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(a.cfg.Timeout):
	}
	_ = model.RemoveHTML(a.cfg.DataDir)
}

func (a *App) dark() bool {
	if a.settings.Dark != nil {
		return *a.settings.Dark
	}
	return a.cfg.Dark
}

func (a *App) applyTheme() { a.th = NewTheme(a.shaper, a.dark()) }

// saveSettings writes the settings file; a failure is shown, not fatal.
func (a *App) saveSettings() {
	if err := model.SaveSettings(a.cfg.DataDir, a.settings); err != nil {
		a.showToast("Could not save settings: " + err.Error())
	}
}

// run calls f on a new goroutine with a context derived from parent and
// bounded by Config.Timeout. The func f returns, if any, runs on the frame
// loop.
func (a *App) run(parent context.Context, f func(ctx context.Context) func()) {
	a.runWithin(parent, a.cfg.Timeout, f)
}

// transfer is run for the calls that move a whole message, bounded by
// Config.TransferTimeout.
func (a *App) transfer(parent context.Context, f func(ctx context.Context) func()) {
	a.runWithin(parent, a.cfg.TransferTimeout, f)
}

func (a *App) runWithin(parent context.Context, timeout time.Duration, f func(ctx context.Context) func()) {
	a.inflight.Add(1)
	go func() {
		defer a.inflight.Add(-1)
		ctx, cancel := context.WithTimeout(parent, timeout)
		apply := f(ctx)
		cancel()
		if apply != nil {
			a.post(parent, apply)
		}
	}()
}

// post hands fn to the frame loop and wakes it. Any goroutine may call it.
func (a *App) post(ctx context.Context, fn func()) {
	select {
	case a.results <- fn:
		a.cfg.Invalidate()
	case <-ctx.Done():
	case <-a.ctx.Done():
	}
}

// drain applies the results that arrived since the last frame.
func (a *App) drain() {
	for {
		select {
		case fn := <-a.results:
			fn()
		default:
			return
		}
	}
}

func (a *App) top() route { return a.stack[len(a.stack)-1] }

func (a *App) push(r route) {
	if a.top() == r {
		return
	}
	a.stack = append(a.stack, r)
}

// reset replaces the whole stack with r.
func (a *App) reset(r route) { a.stack = []route{r} }

// back pops a page and reports whether there was one to pop.
func (a *App) back() bool {
	if len(a.stack) < 2 {
		return false
	}
	leaving := a.top()
	a.stack = a.stack[:len(a.stack)-1]
	switch leaving {
	case routeReader:
		a.reader.close()
	case routeCompose:
		a.compose.cancelChecks()
		a.leaveCompose()
	}
	return true
}

func (a *App) showToast(msg string) {
	a.toast = msg
	a.toastUntil = time.Time{} // set on the next frame from gtx.Now
}

// Layout draws a frame.
func (a *App) Layout(gtx C) D {
	a.drain()
	a.wide = wide(gtx)
	a.handleKeys(gtx)

	fill(gtx, a.th.Bg)
	dims := layout.Stack{}.Layout(gtx,
		layout.Expanded(a.layoutCurrentPage),
		layout.Stacked(func(gtx C) D { return D{Size: gtx.Constraints.Max} }),
		layout.Expanded(a.layoutOverlays),
		layout.Expanded(a.layoutBottom),
	)
	if a.focus != nil {
		gtx.Execute(key.FocusCmd{Tag: a.focus})
		a.focus = nil
	}
	return dims
}

// layoutOverlays draws the phone's folder drawer and the folder dialog
// over the mailbox.
func (a *App) layoutOverlays(gtx C) D {
	if a.top() != routeMailbox && a.top() != routeReader {
		a.mailbox.pane.drawer = false
		a.dialog.close()
		return D{}
	}
	a.mailbox.pane.layoutDrawer(gtx, a)
	return a.dialog.Layout(gtx, a)
}

// layoutCurrentPage draws the page on top of the stack. A page that
// navigates while it handles its events (Trust opens login) is drawn
// again as the new page in the same frame: the old one must not stay on
// screen until the next event, and the new page's fields must exist for
// the focus command that follows.
func (a *App) layoutCurrentPage(gtx C) D {
	for range 3 {
		before, blocked := a.top(), a.blocked
		m := op.Record(gtx.Ops)
		d := a.layoutPage(gtx)
		call := m.Stop()
		if a.top() == before && a.blocked == blocked {
			call.Add(gtx.Ops)
			return d
		}
	}
	return a.layoutPage(gtx)
}

func (a *App) layoutPage(gtx C) D {
	if a.blocked && a.top() != routeSettings {
		return a.blockPage.Layout(gtx, a)
	}
	switch a.top() {
	case routeSetup:
		return a.setup.Layout(gtx, a)
	case routeLogin:
		return a.login.Layout(gtx, a)
	case routeMailbox, routeReader:
		return a.mailbox.Layout(gtx, a)
	case routeCompose:
		return a.compose.Layout(gtx, a)
	case routeSettings:
		return a.settingsPage.Layout(gtx, a)
	}
	return D{}
}

// wide reports whether the list and reader fit side by side.
func wide(gtx C) bool { return gtx.Constraints.Max.X >= gtx.Dp(wideAt) }

// fail handles an error from any network call: a changed certificate
// blocks everything; other errors are returned in words for the page.
func (a *App) fail(err error) string {
	if errors.Is(err, ports.ErrFingerprintMismatch) {
		a.block()
	}
	return model.ErrorText(err)
}

// failIn is fail for a call made in session s. There, bad credentials
// mean the server no longer takes the account's password (it was changed,
// or the account removed): the session ends and the login page says so.
// A result from a session that has ended changes nothing.
func (a *App) failIn(s *session, err error) string {
	switch {
	case s == nil || a.sess != s:
		return model.ErrorText(err)
	case errors.Is(err, account.ErrBadCredentials):
		a.signedOut()
		return model.ErrorText(model.ErrSignedOut)
	}
	return a.fail(err)
}

// signedOut ends the session the server refused and asks for the password
// again.
func (a *App) signedOut() {
	a.endSession()
	a.login.cancel()
	a.login.err, a.login.errField = model.ErrorText(model.ErrSignedOut), ""
	a.login.pass.SetText("")
	a.reset(routeLogin)
	a.focusLogin()
}

// block shows the certificate warning and drops the session.
func (a *App) block() {
	if a.blocked {
		return
	}
	a.blocked = true
	a.endSession()
	a.blockPage.open(a)
}

// checkServer pings the pinned server so that a changed certificate is
// caught before the user types a password.
func (a *App) checkServer() {
	ep := a.settings.Endpoint()
	a.run(a.ctx, func(ctx context.Context) func() {
		err := a.cfg.Client.Ping(ctx, ep)
		return func() {
			if errors.Is(err, ports.ErrFingerprintMismatch) {
				a.block()
			}
		}
	})
}

// focusLogin focuses the username field, or the password if the username
// is remembered.
func (a *App) focusLogin() {
	if a.login.user.Text() == "" {
		a.focus = &a.login.user
	} else {
		a.focus = &a.login.pass
	}
}

// address is the signed-in user's address, or "".
func (a *App) address() string {
	if a.sess == nil {
		return ""
	}
	return a.sess.s.Account().Address
}

// trimmed is an editor's text without surrounding space.
func trimmed(e *widget.Editor) string { return strings.TrimSpace(e.Text()) }
