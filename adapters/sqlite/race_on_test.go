//go:build race

package sqlite

// raceEnabled reports a -race build: the race detector makes SQLite's
// translated C about fifty times slower, so long single-goroutine tests
// that only compare answers run in the plain `go test` pass alone.
const raceEnabled = true
