// Package store keeps scribe's state in SQLite: users, jobs and the
// revisions of their transcripts, webhook receipts and settings. Public
// methods own their transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"

	// The SQLite driver, registered as "sqlite3".
	"github.com/mattn/go-sqlite3"
	_ "github.com/mattn/go-sqlite3"

	"scribe/job"
	"scribe/migrations"
)

// Store is the app's database: one writer connection and a pool of readers
// on the same WAL file.
type Store struct {
	writer *sql.DB
	reader *sql.DB
	// endpoint caches the webhook endpoint once read or set.
	endpoint atomic.Pointer[WebhookEndpoint]
	// Now returns the current time; tests replace it.
	Now func() time.Time
	// Replica names this process in the work it claims (host and data
	// dir), so that after a restart it releases what it held at once.
	Replica string
}

// Open opens (creating if needed) the database at path and applies the
// embedded migrations.
func Open(ctx context.Context, path string) (*Store, error) {
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
		return nil, fmt.Errorf("store: unable to open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	s := &Store{writer: writer, Now: func() time.Time { return time.Now().UTC() }}
	if err := s.migrate(ctx); err != nil {
		writer.Close()
		return nil, err
	}
	if err := s.foldEmails(ctx); err != nil {
		writer.Close()
		return nil, err
	}
	reader, err := sql.Open("sqlite3", "file:"+url.PathEscape(path)+"?"+common+"&_query_only=true")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("store: unable to open reader for %s: %w", path, err)
	}
	reader.SetMaxOpenConns(4)
	s.reader = reader
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, s.writer, migrations.FS)
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

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.reader.Close(), s.writer.Close())
}

// inTx runs fn in a write transaction, committing when it returns nil. A
// full disk comes back as job.ErrNoSpace, which callers can explain.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
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

// diskFull marks SQLite's "database or disk is full" as job.ErrNoSpace,
// keeping the original error in the chain.
func diskFull(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrFull {
		return fmt.Errorf("%w: %w", job.ErrNoSpace, err)
	}
	return err
}

// bump adds one to a counter and returns its new value.
func bump(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, "UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value", name).Scan(&v)
	return v, err
}
