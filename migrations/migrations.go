// Package migrations holds the app's schema as numbered SQL files, embedded
// into the binary and applied in order at start.
package migrations

import "embed"

// FS holds the NNNN_name.sql files.
//
//go:embed *.sql
var FS embed.FS
