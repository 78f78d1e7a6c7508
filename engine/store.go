package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
	"github.com/pressly/goose/v3"

	"scribe/engine/migrations"
)

// Store errors that handlers map to contract codes.
var (
	errNotFound            = errors.New("store: not found")
	errIdempotencyConflict = errors.New("store: idempotency key reused with a different file")
	errDuplicateURL        = errors.New("store: webhook url already registered")
	errInsufficientBalance = errors.New("store: insufficient balance")
	errWebhookNotFound     = errors.New("store: webhook url not registered")
	errQueueFull           = errors.New("store: the queue is full")
)

// idempotencyTTL is how long an Idempotency-Key maps to its transcription.
const idempotencyTTL = 24 * time.Hour

// store is the engine's durable state in one SQLite file. Public methods own
// their transaction; helpers that take a *sql.Tx do not commit.
type store struct {
	writer *sql.DB // one connection: SQLite has one writer at a time
	reader *sql.DB // many read-only connections, concurrent thanks to WAL

	// now is the clock, in UTC; tests replace it.
	now func() time.Time

	// grantSeconds is the configured balance (0 = unlimited) and
	// lowSeconds the threshold under which balance.low is sent.
	grantSeconds, lowSeconds float64

	// maxQueued is how many jobs may wait to be processed (0 = no cap);
	// CreateTranscription answers errQueueFull beyond it.
	maxQueued int
}

// openStore opens (creating if needed) the database at path and applies
// the embedded migrations.
func openStore(ctx context.Context, path string, now func() time.Time) (*store, error) {
	// _txlock=immediate makes BEGIN take the write lock up front, so a
	// read-then-write transaction never fails half way with "database is
	// locked"; busy_timeout makes waiters queue instead of failing.
	// synchronous=NORMAL is durable across process crashes in WAL mode.
	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	const common = "_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_synchronous=NORMAL"
	writer, err := sql.Open("sqlite3", base+"?"+common+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: unable to open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxIdleTime(0)
	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, err
	}
	reader, err := sql.Open("sqlite3", base+"?"+common+"&_query_only=true")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("store: unable to open %s for reading: %w", path, err)
	}
	reader.SetMaxOpenConns(4)
	if now == nil {
		now = time.Now
	}
	// Every time the store hands out (webhook payloads included) is UTC,
	// as the contract wants, whatever the local zone or the given clock,
	// and in whole milliseconds like the times it stores.
	utcNow := func() time.Time { return now().UTC().Truncate(time.Millisecond) }
	return &store{writer: writer, reader: reader, now: utcNow}, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.FS)
	if err != nil {
		return fmt.Errorf("store: unable to prepare migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: unable to migrate: %w", err)
	}
	return nil
}

// Close closes both pools.
func (s *store) Close() error {
	return errors.Join(s.reader.Close(), s.writer.Close())
}

// millis is the storage form of a time.
func millis(t time.Time) int64 { return t.UnixMilli() }

// fromMillis is the API form of a stored time.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// inTx runs fn in a write transaction and commits it when fn returns nil.
func (s *store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
