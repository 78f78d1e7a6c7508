// Package store keeps scribe's state: users, jobs and the revisions of
// their transcripts, webhook receipts and settings, in SQLite (the
// embedded default) or PostgreSQL (sqldb has the seam between them).
// Public methods own their transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"scribe/job"
	"scribe/migrations"
	"scribe/sqldb"
)

// Store is the app's database. On SQLite, one writer connection and a
// pool of readers on the same WAL file; on PostgreSQL, one pool that is
// both.
type Store struct {
	writer sqldb.DB
	reader sqldb.DB
	// endpoint caches the webhook endpoint once read or set.
	endpoint atomic.Pointer[WebhookEndpoint]
	// Now returns the current time; tests replace it.
	Now func() time.Time
	// url is the PostgreSQL database's, for connections of their own
	// (replicas.go); empty on SQLite.
	url   string
	locks sessionLocks
	// Replica names this process in the work it claims (host and data
	// dir), so that after a restart it releases what it held at once.
	Replica string
}

// Options says which database Open opens.
type Options struct {
	// URL is a postgres:// URL; empty means SQLite at Path.
	URL string
	// Path is the SQLite file, created if needed.
	Path string
}

// Open opens (creating if needed) the database o names and applies the
// embedded migrations.
func Open(ctx context.Context, o Options) (*Store, error) {
	d, err := sqldb.DialectOf(o.URL)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// Microseconds: what PostgreSQL keeps of a time, so a time read back
	// equals the one written on either database.
	s := &Store{Now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
	if d == sqldb.Postgres {
		err = s.openPostgres(ctx, o.URL)
	} else {
		err = s.openSQLite(ctx, o.Path)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) openSQLite(ctx context.Context, path string) error {
	// Immediate transactions take the write lock at BEGIN, so a
	// read-then-write transaction never fails with "database is locked"
	// when it tries to upgrade; one writer connection serialises writes.
	// Each connection keeps its last 32 prepared statements: the webhook
	// path runs the same few for every delivery, and preparing them again
	// each time was a quarter of its CPU. synchronous=NORMAL in WAL mode: a
	// commit survives the process dying, not the machine losing power
	// (README, "Nothing lost").
	common := "_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_synchronous=NORMAL&_stmt_cache_size=32"
	writer, err := sql.Open("sqlite3", "file:"+url.PathEscape(path)+"?"+common+"&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("store: unable to open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	s.writer = sqldb.DB{DB: writer, Dialect: sqldb.SQLite}
	if err := s.prepare(ctx); err != nil {
		writer.Close()
		return err
	}
	reader, err := sql.Open("sqlite3", "file:"+url.PathEscape(path)+"?"+common+"&_query_only=true")
	if err != nil {
		writer.Close()
		return fmt.Errorf("store: unable to open reader for %s: %w", path, err)
	}
	reader.SetMaxOpenConns(4)
	s.reader = sqldb.DB{DB: reader, Dialect: sqldb.SQLite}
	return nil
}

func (s *Store) openPostgres(ctx context.Context, rawURL string) error {
	db, err := sqldb.OpenPostgres(ctx, rawURL)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	// PostgreSQL runs writers side by side; one pool serves reads and
	// writes. 16 connections is what a replica's handlers and workers
	// use at most at once here, well under the server's default 100.
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	s.writer = sqldb.DB{DB: db, Dialect: sqldb.Postgres}
	s.reader = s.writer
	s.url = rawURL
	if err := s.prepare(ctx); err != nil {
		db.Close()
		return err
	}
	return nil
}

// prepare migrates the schema and fills what SQL cannot.
func (s *Store) prepare(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		return err
	}
	if err := s.indexUnindexed(ctx); err != nil {
		return err
	}
	return s.foldEmails(ctx)
}

func (s *Store) migrate(ctx context.Context) error {
	var opts []goose.ProviderOption
	if s.writer.Dialect == sqldb.Postgres {
		// Replicas starting together take turns: one migrates, the
		// others then find nothing to do.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("store: unable to make the migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(s.writer.Dialect.Goose(), s.writer.DB, migrations.For(s.writer.Dialect), opts...)
	if err != nil {
		return fmt.Errorf("store: unable to load migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: unable to migrate: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Close closes the pools.
func (s *Store) Close() error {
	s.closeLocks()
	if s.reader.DB == s.writer.DB {
		return s.writer.Close()
	}
	return errors.Join(s.reader.Close(), s.writer.Close())
}

// inTx runs fn in a write transaction, committing when it returns nil. A
// full disk comes back as job.ErrNoSpace, which callers can explain.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqldb.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return diskFull(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return diskFull(err)
	}
	return diskFull(tx.Commit())
}

// inChangeTx is inTx for a transaction that may stamp jobs with the
// change sequence (bump "seq"). On PostgreSQL it first locks the counter's
// row, which it would take at its first bump anyway: every such
// transaction then takes its locks in one order, counter before jobs, so
// two can never deadlock, and seq order is commit order. SQLite's one
// writer gives both already.
func (s *Store) inChangeTx(ctx context.Context, fn func(tx *sqldb.Tx) error) error {
	return s.inTx(ctx, func(tx *sqldb.Tx) error {
		if tx.Dialect == sqldb.Postgres {
			if _, err := tx.ExecContext(ctx, "SELECT value FROM counters WHERE name = 'seq' FOR UPDATE"); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// forUpdate ends a SELECT whose rows the transaction goes on to change:
// on PostgreSQL it locks them, so that at READ COMMITTED a second
// transaction waits and then reads what the first wrote. SQLite's one
// writer needs nothing.
func forUpdate(tx *sqldb.Tx) string {
	return onPostgres(tx, " FOR UPDATE")
}

// lockUser holds userID's row until the transaction ends, so that a count
// of the user's things stays true until the transaction adds one (on
// PostgreSQL; SQLite's one writer gives that already). NO KEY UPDATE
// leaves rows that merely reference the user free to be written.
func lockUser(ctx context.Context, tx *sqldb.Tx, userID int64) error {
	if tx.Dialect != sqldb.Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT 1 FROM users WHERE id = ? FOR NO KEY UPDATE", userID)
	return err
}

// onPostgres is clause on PostgreSQL and nothing on SQLite: for row locks
// (FOR UPDATE, SKIP LOCKED), which SQLite has no use for.
func onPostgres(tx *sqldb.Tx, clause string) string {
	if tx.Dialect == sqldb.Postgres {
		return clause
	}
	return ""
}

// diskFull marks SQLite's "database or disk is full" and PostgreSQL's
// disk_full (53100) as job.ErrNoSpace, keeping the original error in the
// chain.
func diskFull(err error) error {
	var se sqlite3.Error
	var pe *pgconn.PgError
	if errors.As(err, &se) && se.Code == sqlite3.ErrFull || errors.As(err, &pe) && pe.Code == "53100" {
		return fmt.Errorf("%w: %w", job.ErrNoSpace, err)
	}
	return err
}

// bump adds one to a counter and returns its new value.
func bump(ctx context.Context, tx *sqldb.Tx, name string) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, "UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value", name).Scan(&v)
	return v, err
}
