package ui

import (
	"context"

	"golang.org/x/exp/shiny/materialdesign/icons"

	"mailroom/ui/model"
)

var iconBrowser = mustIcon(icons.ActionOpenInBrowser)

// canOpenHTML reports whether the reader offers "Open in browser": the
// message has an HTML part and the platform can open a file (Config.OpenFile;
// none on Android, where Gio has no way to start another app).
func (r *readerPage) canOpenHTML(a *App) bool {
	return a.cfg.OpenFile != nil && r.body != nil && r.body.HTML != ""
}

// openHTML writes the open message's original HTML to a private file and
// hands it to the platform's opener, off the frame loop.
func (r *readerPage) openHTML(a *App) {
	if !r.canOpenHTML(a) {
		return
	}
	html := r.body.HTML
	a.run(a.ctx, func(context.Context) func() {
		path, err := model.WriteHTML(a.cfg.DataDir, html)
		if err == nil {
			err = a.cfg.OpenFile(path)
		}
		if err != nil {
			return func() { a.showToast("Could not open the browser: " + err.Error()) }
		}
		return nil
	})
}

// layoutOpenHTML is the reader's "Open in browser" button, or nothing.
func (r *readerPage) layoutOpenHTML(gtx C, a *App) D {
	if !r.canOpenHTML(a) {
		return D{}
	}
	return iconButton(gtx, a.th, &r.browser, iconBrowser, "Open in browser (remote content stays blocked)", a.th.Fg)
}
