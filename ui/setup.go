package ui

import (
	"context"
	"strconv"

	"gioui.org/font"
	"gioui.org/layout"
	"gioui.org/widget"

	"mailroom/ports"
	"mailroom/ui/model"
)

// setupPage asks where the server is, probes it and shows its certificate
// fingerprint for the user to trust, the way SSH does on first contact.
type setupPage struct {
	host, smtp, inbox widget.Editor
	connect           widget.Clickable
	trust, cancel     widget.Clickable
	list              widget.List

	busy     bool
	err      string
	badField string // "host", "smtp" or "inbox"
	// probed is the endpoint awaiting trust and fp its fingerprint.
	probed *ports.Endpoint
	fp     string
}

func (p *setupPage) init(s model.Settings) {
	for _, e := range []*widget.Editor{&p.host, &p.smtp, &p.inbox} {
		e.SingleLine = true
		e.Submit = true
	}
	p.host.SetText(s.Host)
	ep := s.Endpoint()
	p.smtp.SetText(strconv.Itoa(ep.SMTPPort))
	p.inbox.SetText(strconv.Itoa(ep.InboxPort))
	p.smtp.Filter = "0123456789"
	p.inbox.Filter = "0123456789"
	p.list.Axis = layout.Vertical
}

// endpoint reads the form, or names the field that is wrong.
func (p *setupPage) endpoint() (ports.Endpoint, string, string) {
	host := trimmed(&p.host)
	if host == "" {
		return ports.Endpoint{}, "host", "Enter the server's host name or IP address."
	}
	smtp, err := strconv.Atoi(trimmed(&p.smtp))
	if err != nil || smtp < 1 || smtp > 65535 {
		return ports.Endpoint{}, "smtp", "A port is a number from 1 to 65535."
	}
	inbox, err := strconv.Atoi(trimmed(&p.inbox))
	if err != nil || inbox < 1 || inbox > 65535 {
		return ports.Endpoint{}, "inbox", "A port is a number from 1 to 65535."
	}
	return ports.Endpoint{Host: host, SMTPPort: smtp, InboxPort: inbox}, "", ""
}

func (p *setupPage) submit(a *App) {
	if p.busy {
		return
	}
	ep, bad, msg := p.endpoint()
	p.badField, p.err = bad, msg
	if bad != "" {
		return
	}
	p.busy = true
	a.run(a.ctx, func(ctx context.Context) func() {
		fp, err := a.cfg.Client.Probe(ctx, ep)
		return func() {
			p.busy = false
			if err != nil {
				p.err = model.ErrorText(err)
				if model.Retryable(err) {
					p.err = "Server unreachable. Check the host and ports, then try again."
				}
				return
			}
			p.probed, p.fp = &ep, fp
		}
	})
}

func (p *setupPage) accept(a *App) {
	ep := *p.probed
	a.settings.Host, a.settings.SMTPPort, a.settings.InboxPort = ep.Host, ep.SMTPPort, ep.InboxPort
	a.settings.Fingerprint = model.NormalizeFingerprint(p.fp)
	a.saveSettings()
	p.probed, p.fp = nil, ""
	a.blocked = false
	a.login.init(a.settings)
	a.reset(routeLogin)
	a.focusLogin()
	a.showToast("Server trusted")
}

func (p *setupPage) update(gtx C, a *App) {
	for _, e := range []*widget.Editor{&p.host, &p.smtp, &p.inbox} {
		for {
			ev, ok := e.Update(gtx)
			if !ok {
				break
			}
			if _, ok := ev.(widget.SubmitEvent); ok {
				p.submit(a)
			}
		}
	}
	if p.connect.Clicked(gtx) {
		p.submit(a)
	}
	if p.probed != nil && p.trust.Clicked(gtx) {
		p.accept(a)
	}
	if p.probed != nil && p.cancel.Clicked(gtx) {
		p.probed, p.fp = nil, ""
	}
}

// Layout draws the server form or, after a probe, the trust question.
func (p *setupPage) Layout(gtx C, a *App) D {
	p.update(gtx, a)
	th := a.th
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D { return topBar(gtx, th, nil, "Mailroom") }),
		layout.Flexed(1, func(gtx C) D {
			return formList(th, &p.list).Layout(gtx, 1, func(gtx C, _ int) D {
				return centred(gtx, pageMaxW, func(gtx C) D {
					return layout.UniformInset(gutter).Layout(gtx, func(gtx C) D {
						if p.probed != nil {
							return p.layoutTrust(gtx, th)
						}
						return p.layoutForm(gtx, th)
					})
				})
			})
		}),
	)
}

func (p *setupPage) layoutForm(gtx C, th *Theme) D {
	msgFor := func(f string) (string, bool) {
		if p.badField == f {
			return p.err, true
		}
		return "", false
	}
	hm, hb := msgFor("host")
	sm, sb := msgFor("smtp")
	im, ib := msgFor("inbox")
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(bold(label(th, 22, th.Fg, "Connect to your server")).Layout),
		layout.Rigid(layout.Spacer{Height: smallSpace}.Layout),
		layout.Rigid(label(th, 15, th.Muted, "Enter the address of the Mailroom server you use. Your administrator can tell you.").Layout),
		layout.Rigid(layout.Spacer{Height: gutter}.Layout),
		layout.Rigid(func(gtx C) D { return field(gtx, th, "Server", &p.host, "e.g. mail.example.org", hm, hb) }),
		layout.Rigid(layout.Spacer{Height: gutter}.Layout),
		layout.Rigid(func(gtx C) D {
			return layout.Flex{}.Layout(gtx,
				layout.Flexed(1, func(gtx C) D { return field(gtx, th, "SMTP port", &p.smtp, "e.g. 8025", sm, sb) }),
				layout.Rigid(layout.Spacer{Width: gutter}.Layout),
				layout.Flexed(1, func(gtx C) D { return field(gtx, th, "Inbox port", &p.inbox, "e.g. 9999", im, ib) }),
			)
		}),
		layout.Rigid(func(gtx C) D {
			if p.err == "" || p.badField != "" {
				return D{}
			}
			return layout.Inset{Top: gutter}.Layout(gtx, label(th, 15, th.Danger, p.err).Layout)
		}),
		layout.Rigid(layout.Spacer{Height: gutter}.Layout),
		layout.Rigid(func(gtx C) D {
			txt := "Connect"
			if p.busy {
				txt = "Connecting…"
				gtx = gtx.Disabled()
			}
			return button(gtx, th, &p.connect, txt)
		}),
	)
}

func (p *setupPage) layoutTrust(gtx C, th *Theme) D {
	ep := p.probed
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(bold(label(th, 22, th.Fg, "Trust this server?")).Layout),
		layout.Rigid(layout.Spacer{Height: smallSpace}.Layout),
		layout.Rigid(label(th, 15, th.Fg,
			"This is the first time you connect to "+ep.Host+". Its identity cannot be checked yet. "+
				"Compare the fingerprint below with the one your administrator gives you "+
				"(mailroomd cert prints it). Trust it only if they are the same.").Layout),
		layout.Rigid(layout.Spacer{Height: gutter}.Layout),
		layout.Rigid(label(th, 13, th.Muted, "Certificate fingerprint (SHA-256)").Layout),
		layout.Rigid(layout.Spacer{Height: 4}.Layout),
		layout.Rigid(func(gtx C) D {
			return fingerprintBox(gtx, th, p.fp)
		}),
		layout.Rigid(layout.Spacer{Height: gutter}.Layout),
		layout.Rigid(label(th, 13, th.Muted, "Mailroom will remember it and refuse to connect if it ever changes.").Layout),
		layout.Rigid(layout.Spacer{Height: gutter}.Layout),
		layout.Rigid(func(gtx C) D {
			return layout.Flex{Spacing: layout.SpaceStart}.Layout(gtx,
				layout.Rigid(func(gtx C) D { return flatButton(gtx, th, &p.cancel, "Cancel", th.ContrastBg) }),
				layout.Rigid(layout.Spacer{Width: smallSpace}.Layout),
				layout.Rigid(func(gtx C) D { return button(gtx, th, &p.trust, "Trust") }),
			)
		}),
	)
}

// fingerprintBox shows a fingerprint in a framed monospace block.
func fingerprintBox(gtx C, th *Theme, fp string) D {
	return background(gtx, th.Surface, func(gtx C) D {
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		return layout.UniformInset(12).Layout(gtx, func(gtx C) D {
			l := label(th, 15, th.Fg, model.FormatFingerprint(fp))
			l.Font = font.Font{Typeface: monoFace}
			return l.Layout(gtx)
		})
	})
}

// blockedPage is the red warning shown when the pinned certificate no
// longer matches. It offers to check again or go to settings; it never
// offers to connect anyway.
type blockedPage struct {
	retry, settings widget.Clickable
	list            widget.List
	busy            bool
	presented       string // the fingerprint the server shows now, if known
	stillBad        bool
}

func (p *blockedPage) open(a *App) {
	p.presented = ""
	p.list.Axis = layout.Vertical
	ep := a.settings.Endpoint()
	ep.Fingerprint = ""
	a.run(a.ctx, func(ctx context.Context) func() {
		fp, err := a.cfg.Client.Probe(ctx, ep)
		return func() {
			if err == nil {
				p.presented = fp
			}
		}
	})
}

func (p *blockedPage) Layout(gtx C, a *App) D {
	th := a.th
	if p.retry.Clicked(gtx) && !p.busy {
		p.busy = true
		ep := a.settings.Endpoint()
		a.run(a.ctx, func(ctx context.Context) func() {
			err := a.cfg.Client.Ping(ctx, ep)
			return func() {
				p.busy = false
				if err == nil {
					a.blocked, p.stillBad = false, false
					a.reset(routeLogin)
					a.focusLogin()
					return
				}
				p.stillBad = true
			}
		})
	}
	if p.settings.Clicked(gtx) {
		a.push(routeSettings)
	}
	white := rgb(0xffffff)
	return background(gtx, th.DangerBg, func(gtx C) D {
		gtx.Constraints.Min = gtx.Constraints.Max
		return formList(th, &p.list).Layout(gtx, 1, func(gtx C, _ int) D {
			return centred(gtx, pageMaxW, func(gtx C) D {
				return layout.UniformInset(24).Layout(gtx, func(gtx C) D {
					return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
						layout.Rigid(func(gtx C) D {
							sz := gtx.Dp(56)
							gtx.Constraints.Min.X, gtx.Constraints.Max.X = sz, sz
							return iconWarning.Layout(gtx, white)
						}),
						layout.Rigid(layout.Spacer{Height: gutter}.Layout),
						layout.Rigid(bold(label(th, 24, white, "Server identity changed")).Layout),
						layout.Rigid(layout.Spacer{Height: smallSpace}.Layout),
						layout.Rigid(label(th, 16, white,
							"The certificate of "+a.settings.Host+" is not the one you trusted. "+
								"Someone may be intercepting your connection, or the server was reinstalled. "+
								"Mailroom will not connect until this is sorted out. Ask your administrator "+
								"before you trust the new certificate.").Layout),
						layout.Rigid(layout.Spacer{Height: gutter}.Layout),
						layout.Rigid(bold(label(th, 13, white, "Trusted fingerprint")).Layout),
						layout.Rigid(func(gtx C) D {
							l := label(th, 14, white, model.FormatFingerprint(a.settings.Fingerprint))
							l.Font = font.Font{Typeface: monoFace}
							return l.Layout(gtx)
						}),
						layout.Rigid(func(gtx C) D {
							if p.presented == "" {
								return D{}
							}
							return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
								layout.Rigid(layout.Spacer{Height: smallSpace}.Layout),
								layout.Rigid(bold(label(th, 13, white, "Fingerprint presented now")).Layout),
								layout.Rigid(func(gtx C) D {
									l := label(th, 14, white, model.FormatFingerprint(p.presented))
									l.Font = font.Font{Typeface: monoFace}
									return l.Layout(gtx)
								}),
							)
						}),
						layout.Rigid(func(gtx C) D {
							if !p.stillBad {
								return D{}
							}
							return layout.Inset{Top: gutter}.Layout(gtx, bold(label(th, 15, white, "Still not the trusted certificate.")).Layout)
						}),
						layout.Rigid(layout.Spacer{Height: 24}.Layout),
						layout.Rigid(func(gtx C) D {
							return layout.Flex{}.Layout(gtx,
								layout.Rigid(func(gtx C) D {
									if p.busy {
										gtx = gtx.Disabled()
									}
									return outlineButton(gtx, th, &p.retry, "Check again", white)
								}),
								layout.Rigid(layout.Spacer{Width: smallSpace}.Layout),
								layout.Rigid(func(gtx C) D { return outlineButton(gtx, th, &p.settings, "Server settings", white) }),
							)
						}),
					)
				})
			})
		})
	})
}
