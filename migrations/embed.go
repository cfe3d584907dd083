// Package migrations owns Mailroom's SQLite schema as golang-migrate files
// (NNNN_name.up.sql / NNNN_name.down.sql, every up with its down), embedded
// so that the daemon and adapters/sqlite carry them. Nothing else creates or
// alters the schema.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
