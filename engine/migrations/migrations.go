// Package migrations holds the engine's schema as numbered goose SQL
// files, one directory per database, embedded so the binary carries them:
// sqlite/ (the embedded default, grown step by step) and postgres/ (one
// file, the same end state, for several engine nodes).
package migrations

import (
	"embed"
	"io/fs"

	"scribe/sqldb"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// For returns the migrations of a dialect.
func For(d sqldb.Dialect) fs.FS {
	sub, err := fs.Sub(files, string(d))
	if err != nil {
		panic(err) // the directory is embedded: cannot happen
	}
	return sub
}
