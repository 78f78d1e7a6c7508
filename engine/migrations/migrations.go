// Package migrations holds the engine's SQLite schema as numbered goose SQL
// files, embedded so the binary carries them.
package migrations

import "embed"

// FS holds the NNNN_name.sql files, applied in order by goose.
//
//go:embed *.sql
var FS embed.FS
