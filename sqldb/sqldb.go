// Package sqldb lets one set of SQL statements serve both of scribe's
// databases: SQLite (the embedded default) and PostgreSQL (several
// replicas or engines sharing one installation). Statements are written
// once with ? placeholders; on PostgreSQL they are rebound to $1, $2, …
// Where the dialects really differ, callers ask Dialect and keep the
// difference small and next to each other.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" driver
	"github.com/mattn/go-sqlite3"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Dialect names a database's SQL dialect.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DialectOf says which database a URL names: empty means SQLite in the
// data directory; postgres:// and postgresql:// mean PostgreSQL.
func DialectOf(rawURL string) (Dialect, error) {
	if rawURL == "" {
		return SQLite, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("database URL: %w", err)
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		return Postgres, nil
	}
	return "", fmt.Errorf("database URL: want postgres://…, got scheme %q", u.Scheme)
}

// Goose is the migration tool's name for the dialect.
func (d Dialect) Goose() goose.Dialect {
	if d == Postgres {
		return goose.DialectPostgres
	}
	return goose.DialectSQLite3
}

// Migrate applies the migrations in fsys that db lacks. On PostgreSQL,
// processes starting together (replicas, engine nodes) take turns under a
// session lock: one migrates, the others then find nothing to do.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, fsys fs.FS) error {
	var opts []goose.ProviderOption
	if d == Postgres {
		// Asked every second (goose's default is every 5 s), for 5 min.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("unable to make the migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(d.Goose(), db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("unable to load migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("unable to migrate: %w", err)
	}
	return nil
}

var rebound sync.Map // query text → its PostgreSQL form

// Rebind rewrites a statement's ? placeholders for the dialect.
func (d Dialect) Rebind(query string) string {
	if d != Postgres {
		return query
	}
	if q, ok := rebound.Load(query); ok {
		return q.(string)
	}
	q := dollars(query)
	rebound.Store(query, q)
	return q
}

// dollars numbers the ? placeholders of query as $1, $2, …, and turns
// SQLite's numbered ?N into $N, leaving any ? inside a quoted string or
// identifier alone. (sqlx.Rebind, the usual tool, rewrites those too, and
// knows no ?N.) A statement uses one style or the other, not both.
func dollars(query string) string {
	var b strings.Builder
	n := 0
	var quote byte // the quote character we are inside, or 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0 // a doubled quote closes and reopens: same result
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?' && i+1 < len(query) && '0' <= query[i+1] && query[i+1] <= '9':
			c = '$' // ?N: the digits follow as they are
		case c == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// OpenPostgres opens a pool on the PostgreSQL database at rawURL and
// checks that it answers. Times come back in UTC, as from SQLite, rather
// than in the process's local zone.
func OpenPostgres(ctx context.Context, rawURL string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("unable to open PostgreSQL: %w", err)
	}
	db := stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	}))
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("unable to reach PostgreSQL: %w", err)
	}
	return db, nil
}

// DB is a pool that rebinds each statement for its dialect.
type DB struct {
	*sql.DB
	Dialect Dialect
}

// ExecContext runs a statement that returns no rows.
func (db DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.DB.ExecContext(ctx, db.Dialect.Rebind(query), args...)
}

// QueryContext runs a statement that returns rows.
func (db DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.DB.QueryContext(ctx, db.Dialect.Rebind(query), args...)
}

// QueryRowContext runs a statement that returns at most one row.
func (db DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return db.DB.QueryRowContext(ctx, db.Dialect.Rebind(query), args...)
}

// BeginTx starts a transaction that rebinds like its pool.
func (db DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := db.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Tx{Tx: tx, Dialect: db.Dialect}, nil
}

// Tx is a transaction that rebinds each statement for its dialect.
type Tx struct {
	*sql.Tx
	Dialect Dialect
}

// ExecContext runs a statement that returns no rows.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.Dialect.Rebind(query), args...)
}

// QueryContext runs a statement that returns rows.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.Dialect.Rebind(query), args...)
}

// QueryRowContext runs a statement that returns at most one row.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.Dialect.Rebind(query), args...)
}

// IsUniqueViolation reports whether err is a unique constraint refusing a
// row, on either database.
func IsUniqueViolation(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
