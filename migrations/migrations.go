// Package migrations holds the app's schema as numbered SQL files, one
// set per database, embedded into the binary and applied in order at
// start. sqlite/ is the history every existing installation has been
// through; postgres/ starts from that history's end state.
package migrations

import (
	"embed"
	"io/fs"

	"scribe/sqldb"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// SQLite holds the NNNN_name.sql files for SQLite.
var SQLite = sub("sqlite")

// Postgres holds the NNNN_name.sql files for PostgreSQL.
var Postgres = sub("postgres")

// For is the set of migrations for dialect d.
func For(d sqldb.Dialect) fs.FS {
	if d == sqldb.Postgres {
		return Postgres
	}
	return SQLite
}

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // dir is a constant embedded above
	}
	return f
}
