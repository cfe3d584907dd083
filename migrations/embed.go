// Package migrations owns Mailroom's SQLite schema (in this directory), the
// schema of the SQLite store's search index file (in searchindex/) and its
// PostgreSQL schema (in postgres/) as golang-migrate files
// (NNNN_name.up.sql / NNNN_name.down.sql, every up with its down), embedded
// so that the daemon and the store adapters carry them. Nothing else creates
// or alters the schema.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS

// Postgres holds every PostgreSQL migration file, under postgres/.
//
//go:embed postgres/*.sql
var Postgres embed.FS

// SearchIndex holds the migrations of the SQLite store's search index
// file, under searchindex/.
//
//go:embed searchindex/*.sql
var SearchIndex embed.FS
