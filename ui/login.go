package ui

import (
	"context"
	"errors"
	"time"

	"gioui.org/layout"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"mailroom/domain/account"
	"mailroom/ports"
	"mailroom/ui/model"
)

// Retry backoff for an unreachable server while logging in.
const (
	firstRetry = 2 * time.Second
	maxRetry   = 30 * time.Second
)

// loginPage signs in or registers. Errors appear under the form in words.
type loginPage struct {
	user, pass      widget.Editor
	login, register widget.Clickable
	settings        widget.Clickable
	list            widget.List

	busy bool
	err  string
	// errField marks the field the error is about: "user" or "pass".
	errField string
	// attempt counts tries; a newer attempt makes older retries give up.
	attempt int
	backoff time.Duration
}

func (p *loginPage) init(s model.Settings) {
	for _, e := range []*widget.Editor{&p.user, &p.pass} {
		e.SingleLine = true
		e.Submit = true
	}
	p.pass.Mask = '•'
	p.user.SetText(s.Username)
	p.list.Axis = layout.Vertical
}

// submit logs in, or registers and then logs in.
func (p *loginPage) submit(a *App, register bool) {
	if p.busy || a.blocked {
		return
	}
	user, pass := trimmed(&p.user), p.pass.Text()
	p.err, p.errField = "", ""
	switch {
	case user == "":
		p.err, p.errField = "Enter your username.", "user"
	case pass == "":
		p.err, p.errField = "Enter your password.", "pass"
	case register:
		if _, err := account.ParseUsername(user); err != nil {
			p.err, p.errField = model.ErrorText(err), "user"
		} else if err := account.CheckPassword(pass); err != nil {
			p.err, p.errField = model.ErrorText(err), "pass"
		}
	}
	if p.err != "" {
		return
	}
	p.attempt++
	p.backoff = 0
	p.try(a, p.attempt, user, pass, register, false)
}

// try runs one attempt; an unreachable server is retried with backoff for
// as long as the attempt is the latest and the page is shown. A Register
// that found the server unreachable may have created the account all the
// same (only its reply was lost), so a retry of one signs in first and
// registers again only when the server knows no such account.
func (p *loginPage) try(a *App, attempt int, user, pass string, register, retry bool) {
	p.busy = true
	ep := a.settings.Endpoint()
	a.run(a.ctx, func(ctx context.Context) func() {
		if register && retry {
			s, err := a.cfg.Client.Login(ctx, ep, user, pass)
			switch {
			case err == nil:
				return p.signedIn(a, attempt, s, user, true) // the lost Register had made it
			case !errors.Is(err, account.ErrBadCredentials) && !errors.Is(err, account.ErrNoSuchUser):
				return func() { p.failed(a, attempt, err, user, pass, true) }
			}
		}
		registered := false
		if register {
			if err := a.cfg.Client.Register(ctx, ep, user, pass); err != nil {
				return func() { p.failed(a, attempt, err, user, pass, true) }
			}
			registered = true
		}
		s, err := a.cfg.Client.Login(ctx, ep, user, pass)
		if err != nil {
			return func() {
				p.failed(a, attempt, err, user, pass, false)
				if registered {
					p.err = "Account created. " + p.err
				}
			}
		}
		return p.signedIn(a, attempt, s, user, registered)
	})
}

// signedIn starts the session s on the frame loop, if the attempt is still
// wanted; registered adds the welcome.
func (p *loginPage) signedIn(a *App, attempt int, s ports.Session, user string, registered bool) func() {
	return func() {
		if attempt != p.attempt || a.top() != routeLogin {
			s.Close()
			return
		}
		p.busy = false
		p.err = ""
		a.startSession(s, user)
		if registered {
			a.showToast("Welcome! Your address is " + s.Account().Address)
		}
	}
}

func (p *loginPage) failed(a *App, attempt int, err error, user, pass string, register bool) {
	if attempt != p.attempt {
		return
	}
	p.busy = false
	p.err = a.fail(err)
	switch {
	case errors.Is(err, account.ErrUsernameTaken), errors.Is(err, account.ErrBadUsername):
		p.errField = "user"
	case errors.Is(err, account.ErrWeakPassword):
		p.errField = "pass"
	case errors.Is(err, account.ErrBadCredentials):
		p.errField = "pass"
		p.pass.SetText("")
		a.focus = &p.pass
	}
	if !model.Retryable(err) || errors.Is(err, ports.ErrFingerprintMismatch) {
		return
	}
	// Unreachable: keep trying in the background. The wait is not a
	// network call, so it does not count as one in flight.
	p.err = "Server unreachable, retrying…"
	p.busy = true
	p.backoff = min(max(2*p.backoff, a.retryBase), maxRetry)
	wait := p.backoff
	go func() {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-a.ctx.Done():
			return
		}
		a.post(a.ctx, func() {
			if attempt == p.attempt && a.top() == routeLogin && !a.blocked {
				p.try(a, attempt, user, pass, register, true)
			} else if attempt == p.attempt {
				p.busy = false
			}
		})
	}()
}

// cancel stops a login that is retrying.
func (p *loginPage) cancel() {
	p.attempt++
	p.busy = false
}

func (p *loginPage) update(gtx C, a *App) {
	for _, e := range []*widget.Editor{&p.user, &p.pass} {
		for {
			ev, ok := e.Update(gtx)
			if !ok {
				break
			}
			switch ev.(type) {
			case widget.SubmitEvent:
				if e == &p.user && p.pass.Text() == "" {
					a.focus = &p.pass
				} else {
					p.submit(a, false)
				}
			case widget.ChangeEvent:
				if p.busy && p.backoff > 0 {
					p.cancel() // typing stops the retry loop
				}
			}
		}
	}
	if p.login.Clicked(gtx) {
		p.submit(a, false)
	}
	if p.register.Clicked(gtx) {
		p.submit(a, true)
	}
	if p.settings.Clicked(gtx) {
		a.push(routeSettings)
	}
}

// Layout draws the login form.
func (p *loginPage) Layout(gtx C, a *App) D {
	p.update(gtx, a)
	th := a.th
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return topBar(gtx, th, nil, "Mailroom", func(gtx C) D {
				return iconButton(gtx, th, &p.settings, iconSettings, "Settings", th.Fg)
			})
		}),
		layout.Flexed(1, func(gtx C) D {
			return formList(th, &p.list).Layout(gtx, 1, func(gtx C, _ int) D {
				return centred(gtx, pageMaxW, func(gtx C) D {
					return layout.UniformInset(gutter).Layout(gtx, func(gtx C) D { return p.layoutForm(gtx, a) })
				})
			})
		}),
	)
}

func (p *loginPage) layoutForm(gtx C, a *App) D {
	th := a.th
	msg := func(f string) (string, bool) {
		if p.errField == f {
			return p.err, true
		}
		return "", false
	}
	um, ub := msg("user")
	pm, pb := msg("pass")
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(bold(label(th, 22, th.Fg, "Sign in")).Layout),
		layout.Rigid(layout.Spacer{Height: 4}.Layout),
		layout.Rigid(label(th, 15, th.Muted, "to "+a.settings.Host).Layout),
		layout.Rigid(layout.Spacer{Height: gutter}.Layout),
		layout.Rigid(func(gtx C) D { return field(gtx, th, "Username", &p.user, "e.g. alice", um, ub) }),
		layout.Rigid(layout.Spacer{Height: gutter}.Layout),
		layout.Rigid(func(gtx C) D {
			hint := ""
			if !pb {
				hint = "New accounts need 8 or more characters."
			}
			if pm == "" {
				pm = hint
			}
			return field(gtx, th, "Password", &p.pass, "", pm, pb)
		}),
		layout.Rigid(func(gtx C) D {
			if p.err == "" || p.errField != "" {
				return D{}
			}
			return layout.Inset{Top: gutter}.Layout(gtx, label(th, 15, th.Danger, p.err).Layout)
		}),
		layout.Rigid(layout.Spacer{Height: gutter}.Layout),
		layout.Rigid(func(gtx C) D {
			return layout.Flex{Spacing: layout.SpaceStart, Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					if p.busy {
						return layout.Inset{Right: gutter}.Layout(gtx, func(gtx C) D {
							gtx.Constraints.Max = gtx.Constraints.Max.Div(1)
							gtx.Constraints.Min.X = gtx.Dp(24)
							gtx.Constraints.Max.X = gtx.Dp(24)
							gtx.Constraints.Max.Y = gtx.Dp(24)
							return material.Loader(th.Theme).Layout(gtx)
						})
					}
					return D{}
				}),
				layout.Rigid(func(gtx C) D {
					if p.busy {
						gtx = gtx.Disabled()
					}
					return flatButton(gtx, th, &p.register, "Create account", th.ContrastBg)
				}),
				layout.Rigid(layout.Spacer{Width: smallSpace}.Layout),
				layout.Rigid(func(gtx C) D {
					if p.busy {
						gtx = gtx.Disabled()
					}
					return button(gtx, th, &p.login, "Sign in")
				}),
			)
		}),
	)
}
