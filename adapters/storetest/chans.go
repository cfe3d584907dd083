package storetest

import (
	"testing"
	"time"
)

// Patience is how long the suite waits for a feed to deliver or close: long
// enough for a loaded machine, since only a missing delivery reaches it.
const Patience = 10 * time.Second

// Receive reads n values from ch, failing the test if ch closes first or
// they do not all arrive within the given time. Both stores' own feed tests
// use it as well as the suite.
func Receive[T any](t testing.TB, ch <-chan T, n int, within time.Duration) []T {
	t.Helper()
	var out []T
	timeout := time.After(within)
	for len(out) < n {
		select {
		case v, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d of %d values", len(out), n)
			}
			out = append(out, v)
		case <-timeout:
			t.Fatalf("received %d of %d values within %v", len(out), n, within)
		}
	}
	return out
}

// ExpectNothing fails the test if ch yields a value, or closes, within wait.
func ExpectNothing[T any](t testing.TB, ch <-chan T, wait time.Duration) {
	t.Helper()
	select {
	case v, ok := <-ch:
		if ok {
			t.Fatalf("unexpected value %+v", v)
		}
		t.Fatal("channel closed unexpectedly")
	case <-time.After(wait):
	}
}

// ExpectClosed drains ch and fails the test unless it closes within the
// given time.
func ExpectClosed[T any](t testing.TB, ch <-chan T, within time.Duration) {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatalf("channel not closed within %v", within)
		}
	}
}
