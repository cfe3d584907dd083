package ui

// Pause is for a platform that sends the app to the background, where it
// may be killed without warning (Android: the window lost focus; Gio
// v0.10 has no separate stage event). What the user did must not wait for
// a timer that may never fire: the draft is written now, and the delete
// waiting for its undo is sent (its snackbar would be gone on return).
func (a *App) Pause() {
	a.flushDraft()
	a.pushDraft()
	if s := a.sess; s != nil {
		a.commitDelete(s)
	}
}
