package ui

import (
	"context"
	"errors"
	"strings"
	"time"

	"gioui.org/io/key"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"
	"golang.org/x/exp/shiny/materialdesign/icons"

	"mailroom/domain/mail"
)

const (
	// searchDelay is the pause in typing after which a search runs: one
	// call per burst of keys, not one per key.
	searchDelay = 300 * time.Millisecond
	// searchLimit is how many results one search shows.
	searchLimit = 50
)

var iconSearch = mustIcon(icons.ActionSearch)

// searchBox is the search field above the message list, shown when the
// session offers ports.SearchSession (on a phone once its app bar icon is
// tapped). While it holds text its results replace the folder's list.
type searchBox struct {
	ed    widget.Editor
	open  widget.Clickable // the phone's app bar icon
	clear widget.Clickable
	// shown is whether a phone shows the field (a desktop always does).
	shown bool
	// delay is searchDelay (tests shorten it); dueAt is when the typed
	// text is searched, if due.
	delay time.Duration
	due   bool
	dueAt time.Time
	// seq numbers the searches: a result is used only if it is the
	// latest one's and its text is still the field's.
	seq     int
	query   string // the text results and err are for
	results []mail.Meta
	words   []string // the query's words, to highlight
	err     string
	loaded  bool
	list    widget.List
	// done: the last page was short, nothing older matches; more: a
	// next page is on its way; moreErr: the next page failed (paging
	// stops until the search changes).
	done, more bool
	moreErr    string
}

func (b *searchBox) reset() {
	d := b.delay
	if d == 0 {
		d = searchDelay
	}
	*b = searchBox{delay: d}
	b.ed.SingleLine, b.ed.Submit = true, true
	b.list.Axis = layout.Vertical
}

// active reports whether search results replace the folder's list.
func (b *searchBox) active() bool { return strings.TrimSpace(b.ed.Text()) != "" }

// available reports whether the session can search.
func (a *App) canSearch() bool { return a.sess != nil && a.sess.ss != nil }

// focusSearch opens the field (on a phone) and puts the cursor in it.
func (a *App) focusSearch() {
	if !a.canSearch() {
		return
	}
	a.mailbox.search.shown = true
	a.focus = &a.mailbox.search.ed
}

// clearSearch empties the field and returns to the folder's list.
func (a *App) clearSearch() {
	b := &a.mailbox.search
	b.ed.SetText("")
	b.seq++ // a search in flight is now stale
	b.due, b.shown, b.loaded = false, false, false
	b.results, b.words, b.err, b.query = nil, nil, "", ""
	a.mailbox.cursor, a.mailbox.cursorShown = 0, false
}

// update handles typing: it schedules a search once typing pauses and runs
// it when due.
func (b *searchBox) update(gtx C, a *App) {
	if b.open.Clicked(gtx) {
		a.focusSearch()
	}
	if b.clear.Clicked(gtx) {
		a.clearSearch()
	}
	for {
		ev, ok := b.ed.Update(gtx)
		if !ok {
			break
		}
		switch ev.(type) {
		case widget.ChangeEvent:
			b.due, b.dueAt = true, gtx.Now.Add(b.delay)
			gtx.Execute(op.InvalidateCmd{At: b.dueAt})
		case widget.SubmitEvent:
			// Enter searches now and hands the keys to the results:
			// arrows or j/k move, Enter opens, as in the list.
			b.due, b.dueAt = true, gtx.Now
			gtx.Execute(key.FocusCmd{})
		}
	}
	if b.due && !gtx.Now.Before(b.dueAt) {
		b.due = false
		a.runSearch()
	}
}

// runSearch asks the server for the field's text, on its own goroutine.
func (a *App) runSearch() {
	b := &a.mailbox.search
	q := strings.TrimSpace(b.ed.Text())
	b.seq++
	if q == "" || !a.canSearch() {
		b.results, b.words, b.err, b.loaded = nil, nil, "", false
		return
	}
	s, n := a.sess, b.seq
	a.run(s.ctx, func(ctx context.Context) func() {
		ms, err := s.ss.Search(ctx, q, "", 0, searchLimit)
		return func() {
			if a.sess != s || n != b.seq || strings.TrimSpace(b.ed.Text()) != q {
				return // stale: the text changed, or the session ended
			}
			b.query, b.loaded, b.err = q, true, ""
			b.more, b.moreErr = false, ""
			a.mailbox.cursor, a.mailbox.cursorShown = 0, false
			b.list.Position = layout.Position{}
			if err != nil {
				b.results, b.words = nil, nil
				b.err = a.searchErr(s, err)
				return
			}
			b.results, b.words, b.done = ms, highlightWords(q), len(ms) < searchLimit
		}
	})
}

// searchErr puts a failed search in words.
func (a *App) searchErr(s *session, err error) string {
	if errors.Is(err, mail.ErrBadQuery) {
		return "This search can't be run: check its quotes, and dates as YYYY-MM-DD (is: takes unread or flagged)."
	}
	if errors.Is(err, mail.ErrNoSuchFolder) {
		return "There is no folder of that name."
	}
	return a.failIn(s, err)
}

// layoutField draws the field with its clear button and, under it, the
// error of the last search.
func (b *searchBox) layoutField(gtx C, a *App) D {
	th := a.th
	if !a.wide && !b.shown && !b.active() {
		return D{}
	}
	return layout.Inset{Top: 8, Bottom: 8, Left: gutter, Right: smallSpace}.Layout(gtx, func(gtx C) D {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(func(gtx C) D {
				return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
					layout.Flexed(1, func(gtx C) D {
						border, width := th.Divider, unit.Dp(1)
						if gtx.Focused(&b.ed) {
							border, width = th.Focus, 2
						}
						if b.err != "" {
							border = th.Danger
						}
						return widget.Border{Color: border, Width: width, CornerRadius: 6}.Layout(gtx, func(gtx C) D {
							gtx.Constraints.Min.X = gtx.Constraints.Max.X
							return layout.UniformInset(10).Layout(gtx, func(gtx C) D {
								gtx.Locale.Direction = direction(b.ed.Text())
								e := material.Editor(th.Theme, &b.ed, "Search mail  ( / )")
								e.HintColor = th.Muted
								return e.Layout(gtx)
							})
						})
					}),
					layout.Rigid(func(gtx C) D {
						if !b.active() && a.wide {
							return D{}
						}
						return iconButton(gtx, th, &b.clear, iconClose, "Clear search (Esc)", th.Fg)
					}),
				)
			}),
			layout.Rigid(func(gtx C) D {
				if b.err == "" {
					return D{}
				}
				return layout.Inset{Top: 4}.Layout(gtx, label(th, 13, th.Danger, b.err).Layout)
			}),
		)
	})
}

// layoutResults draws the results in place of the folder's list.
func (b *searchBox) layoutResults(gtx C, a *App) D {
	th := a.th
	switch {
	case b.err != "":
		return D{}
	case !b.loaded:
		return layout.Center.Layout(gtx, label(th, 16, th.Muted, "Searching…").Layout)
	case len(b.results) == 0:
		return layout.Center.Layout(gtx, label(th, 16, th.Muted, "No messages match").Layout)
	}
	n := len(b.results)
	extra := 0
	if !b.done {
		extra = 1 // "loading more" or why not
	}
	dims := a.wheelList(gtx, &b.list, func(gtx C) D {
		return material.List(th.Theme, &b.list).Layout(gtx, n+extra, func(gtx C, i int) D {
			if i < n {
				return a.mailbox.layoutRow(gtx, a, b.results[i])
			}
			txt, col := "Loading more results…", th.Muted
			if b.moreErr != "" {
				txt, col = b.moreErr, th.Danger
			}
			gtx.Constraints.Min.X = gtx.Constraints.Max.X
			return layout.UniformInset(gutter).Layout(gtx, func(gtx C) D {
				return layout.Center.Layout(gtx, label(th, 14, col, txt).Layout)
			})
		})
	})
	a.moreResults(b.list.Position.First + b.list.Position.Count - 1)
	return dims
}

// searchPrefetch is how close to the last result the list may get before
// the next page of results is asked for.
const searchPrefetch = 10

// moreResults asks for the next page of results, older than the last one
// shown (the search op pages with before, as List does), once the row
// lastVisible is near the end.
func (a *App) moreResults(lastVisible int) {
	b := &a.mailbox.search
	n := len(b.results)
	if !a.canSearch() || !b.loaded || b.done || b.more || b.moreErr != "" || n == 0 || lastVisible < n-searchPrefetch {
		return
	}
	b.more = true
	s, seq, q, before := a.sess, b.seq, b.query, b.results[n-1].ID
	a.run(s.ctx, func(ctx context.Context) func() {
		ms, err := s.ss.Search(ctx, q, "", before, searchLimit)
		return func() {
			if a.sess != s || seq != b.seq {
				return // another search, or the session ended
			}
			b.more = false
			if err != nil {
				b.moreErr = "Could not load more results: " + a.searchErr(s, err)
				return
			}
			for _, m := range ms {
				if m.ID < b.results[len(b.results)-1].ID {
					b.results = append(b.results, m)
				}
			}
			b.done = len(ms) < searchLimit
		}
	})
}

// highlightWords are the words of q to mark in subjects and previews: its
// text and subject: words, not the excluded ones nor other fields'.
func highlightWords(q string) []string {
	pq, err := mail.ParseQuery(q)
	if err != nil {
		return nil
	}
	var out []string
	for _, t := range pq.Terms {
		if t.Field == mail.FieldAny || t.Field == mail.FieldSubject {
			out = append(out, t.Words...)
		}
	}
	return out
}

// matchSpans gives the byte ranges of s where a word of words begins a
// match (case-insensitively), in order and without overlaps. Text whose
// lower case differs in length from it is not marked: its offsets would
// not line up.
func matchSpans(s string, words []string) [][2]int {
	lower := strings.ToLower(s)
	if len(lower) != len(s) || len(words) == 0 {
		return nil
	}
	var out [][2]int
	for i := 0; i < len(lower); {
		best := 0
		for _, w := range words {
			if w != "" && len(w) > best && strings.HasPrefix(lower[i:], strings.ToLower(w)) {
				best = len(w)
			}
		}
		if best > 0 {
			out = append(out, [2]int{i, i + best})
			i += best
			continue
		}
		i++
	}
	return out
}

// highlighted lays l out with the search's matched words bold in the
// accent colour, when results are on screen.
func (b *searchBox) highlighted(l material.LabelStyle, th *Theme) layout.Widget {
	spans := matchSpans(l.Text, b.words)
	if !b.active() || len(spans) == 0 {
		return directed(l)
	}
	var children []layout.FlexChild
	// cut: the line is full. A part that would get only a sliver of the
	// width shows an ellipsis instead (it drew a lone "." of its own
	// ellipsis), and the parts after it nothing.
	cut := false
	part := func(txt string, hit bool) {
		if txt == "" {
			return
		}
		p := l
		p.Text = txt
		if hit {
			p.Color = th.Accent
			p = bold(p)
		}
		children = append(children, layout.Rigid(func(gtx C) D {
			if cut {
				return D{}
			}
			if gtx.Constraints.Max.X < gtx.Dp(32) {
				cut = true
				e := l
				e.Text = "…"
				return e.Layout(gtx)
			}
			d := p.Layout(gtx)
			cut = d.Size.X >= gtx.Constraints.Max.X
			return d
		}))
	}
	at := 0
	for _, sp := range spans {
		part(l.Text[at:sp[0]], false)
		part(l.Text[sp[0]:sp[1]], true)
		at = sp[1]
	}
	part(l.Text[at:], false)
	return func(gtx C) D {
		cut = false
		return layout.Flex{Alignment: layout.Baseline}.Layout(gtx, children...)
	}
}

// searchKeys are the keys that focus the field: / and Ctrl/Cmd+F.
var searchKeys = []key.Filter{{Name: "/"}, {Name: "F", Required: key.ModShortcut}}
