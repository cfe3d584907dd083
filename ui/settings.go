package ui

import (
	"fmt"

	"gioui.org/layout"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// settingsPage shows the server and its pinned fingerprint, the account,
// the theme switch, and the log out and forget-server actions.
type settingsPage struct {
	back, logout, forget widget.Clickable
	dark, notify         widget.Bool
	list                 widget.List
	inited               bool
}

func (p *settingsPage) update(gtx C, a *App) {
	if !p.inited {
		p.list.Axis = layout.Vertical
		p.inited = true
	}
	if p.back.Clicked(gtx) {
		a.back()
	}
	if p.dark.Update(gtx) {
		p.setDark(a)
	}
	p.dark.Value = a.dark()
	if p.notify.Update(gtx) {
		a.settings.NoNotify = !p.notify.Value
		a.setNotify(p.notify.Value)
		a.saveSettings()
	}
	p.notify.Value = !a.settings.NoNotify
	if p.logout.Clicked(gtx) && a.sess != nil {
		a.logout()
		a.showToast("Signed out")
	}
	if p.forget.Clicked(gtx) {
		a.endSession()
		a.login.cancel()
		a.settings.Host, a.settings.Fingerprint = "", ""
		a.saveSettings()
		a.blocked = false
		a.setup.init(a.settings)
		a.reset(routeSetup)
		a.focus = &a.setup.host
	}
}

func (p *settingsPage) setDark(a *App) {
	v := p.dark.Value
	a.settings.Dark = &v
	a.applyTheme()
	a.saveSettings()
}

// Layout draws the settings.
func (p *settingsPage) Layout(gtx C, a *App) D {
	p.update(gtx, a)
	th := a.th
	var back *widget.Clickable
	if len(a.stack) > 1 {
		back = &p.back
	}
	section := func(title string) layout.FlexChild {
		return layout.Rigid(func(gtx C) D {
			return layout.Inset{Top: 24, Bottom: smallSpace}.Layout(gtx, bold(label(th, 14, th.Accent, title)).Layout)
		})
	}
	line := func(k, v string) layout.FlexChild {
		return layout.Rigid(func(gtx C) D {
			return layout.Inset{Bottom: 6}.Layout(gtx, func(gtx C) D {
				return layout.Flex{}.Layout(gtx,
					layout.Rigid(func(gtx C) D {
						gtx.Constraints.Min.X = gtx.Dp(110)
						return label(th, 15, th.Muted, k).Layout(gtx)
					}),
					layout.Flexed(1, label(th, 15, th.Fg, v).Layout),
				)
			})
		})
	}
	ep := a.settings.Endpoint()
	host := a.settings.Host
	if host == "" {
		host = "not set"
	}
	acct := "Not signed in"
	if addr := a.address(); addr != "" {
		acct = addr
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D { return topBar(gtx, th, back, "Settings") }),
		layout.Flexed(1, func(gtx C) D {
			return formList(th, &p.list).Layout(gtx, 1, func(gtx C, _ int) D {
				return centred(gtx, pageMaxW, func(gtx C) D {
					return layout.Inset{Left: gutter, Right: gutter, Bottom: gutter}.Layout(gtx, func(gtx C) D {
						return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
							section("Server"),
							line("Host", host),
							line("SMTP port", fmt.Sprint(ep.SMTPPort)),
							line("Inbox port", fmt.Sprint(ep.InboxPort)),
							layout.Rigid(layout.Spacer{Height: smallSpace}.Layout),
							layout.Rigid(label(th, 13, th.Muted, "Certificate fingerprint (SHA-256)").Layout),
							layout.Rigid(layout.Spacer{Height: 4}.Layout),
							layout.Rigid(func(gtx C) D {
								if a.settings.Fingerprint == "" {
									return label(th, 15, th.Fg, "none pinned").Layout(gtx)
								}
								return fingerprintBox(gtx, th, a.settings.Fingerprint)
							}),
							section("Account"),
							line("Signed in as", acct),
							section("Appearance"),
							layout.Rigid(func(gtx C) D { return p.layoutSwitch(gtx, th, &p.dark, "Dark theme") }),
							layout.Rigid(func(gtx C) D {
								if a.cfg.Notifier == nil {
									return D{}
								}
								return p.layoutSwitch(gtx, th, &p.notify, "New-mail notifications")
							}),
							layout.Rigid(layout.Spacer{Height: 24}.Layout),
							layout.Rigid(func(gtx C) D {
								if a.sess == nil {
									return D{}
								}
								return layout.Inset{Bottom: smallSpace}.Layout(gtx, func(gtx C) D {
									return button(gtx, th, &p.logout, "Log out")
								})
							}),
							layout.Rigid(func(gtx C) D {
								if a.settings.Host == "" {
									return D{}
								}
								return dangerButton(gtx, th, &p.forget, "Forget this server")
							}),
							layout.Rigid(func(gtx C) D {
								if a.settings.Host == "" {
									return D{}
								}
								return layout.Inset{Top: 4}.Layout(gtx, label(th, 13, th.Muted,
									"Signs you out and removes the pinned certificate. You will be asked to trust the server again.").Layout)
							}),
						)
					})
				})
			})
		}),
	)
}

// layoutSwitch is a settings line, touch high, with a switch at its end.
func (p *settingsPage) layoutSwitch(gtx C, th *Theme, b *widget.Bool, txt string) D {
	gtx.Constraints.Min.Y = gtx.Dp(touch)
	return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
		layout.Flexed(1, middle(label(th, 16, th.Fg, txt).Layout)),
		layout.Rigid(middle(material.Switch(th.Theme, b, txt).Layout)),
	)
}
