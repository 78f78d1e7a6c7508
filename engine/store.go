package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
	"github.com/pressly/goose/v3"

	"scribe/engine/migrations"
	"scribe/sqldb"
)

// Store errors that handlers map to contract codes.
var (
	errNotFound            = errors.New("store: not found")
	errIdempotencyConflict = errors.New("store: idempotency key reused with a different file")
	errDuplicateURL        = errors.New("store: webhook url already registered")
	errInsufficientBalance = errors.New("store: insufficient balance")
	errWebhookNotFound     = errors.New("store: webhook url not registered")
	errQueueFull           = errors.New("store: the queue is full")
	errLeaseLost           = errors.New("store: the job is no longer this node's")
)

// idempotencyTTL is how long an Idempotency-Key maps to its transcription.
const idempotencyTTL = 24 * time.Hour

// store is the engine's durable state: one SQLite file, or a PostgreSQL
// database shared by several engine nodes. Public methods own their
// transaction; helpers that take a *sqldb.Tx do not commit.
type store struct {
	// On SQLite, writer is one connection (one writer at a time) and
	// reader many read-only ones, concurrent thanks to WAL; on PostgreSQL
	// both are the same pool.
	writer sqldb.DB
	reader sqldb.DB
	// dialect is the database's; the few statements that differ ask it.
	dialect sqldb.Dialect

	// owner names this node in job leases; lease is how long a claim
	// lasts unless renewed.
	owner string
	lease time.Duration

	// now is the clock, in UTC; tests replace it.
	now func() time.Time

	// grantSeconds is the configured balance (0 = unlimited) and
	// lowSeconds the threshold under which balance.low is sent.
	grantSeconds, lowSeconds float64

	// maxQueued is how many jobs may wait to be processed (0 = no cap);
	// CreateTranscription answers errQueueFull beyond it.
	maxQueued int
}

// openStore opens the PostgreSQL database at databaseURL or, when it is
// empty, the SQLite file at path (creating it if needed), and applies the
// embedded migrations of its dialect.
func openStore(ctx context.Context, databaseURL, path string, now func() time.Time) (*store, error) {
	if now == nil {
		now = time.Now
	}
	// Every time the store hands out (webhook payloads included) is UTC,
	// as the contract wants, whatever the local zone or the given clock,
	// and in whole milliseconds like the times it stores.
	utcNow := func() time.Time { return now().UTC().Truncate(time.Millisecond) }
	if databaseURL != "" {
		db, err := sqldb.OpenPostgres(ctx, databaseURL)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if err := migrate(ctx, db, sqldb.Postgres); err != nil {
			db.Close()
			return nil, err
		}
		pool := sqldb.DB{DB: db, Dialect: sqldb.Postgres}
		return &store{writer: pool, reader: pool, dialect: sqldb.Postgres, now: utcNow}, nil
	}

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
	if err := migrate(ctx, writer, sqldb.SQLite); err != nil {
		writer.Close()
		return nil, err
	}
	reader, err := sql.Open("sqlite3", base+"?"+common+"&_query_only=true")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("store: unable to open %s for reading: %w", path, err)
	}
	reader.SetMaxOpenConns(4)
	return &store{
		writer:  sqldb.DB{DB: writer, Dialect: sqldb.SQLite},
		reader:  sqldb.DB{DB: reader, Dialect: sqldb.SQLite},
		dialect: sqldb.SQLite,
		now:     utcNow,
	}, nil
}

func migrate(ctx context.Context, db *sql.DB, d sqldb.Dialect) error {
	p, err := goose.NewProvider(d.Goose(), db, migrations.For(d))
	if err != nil {
		return fmt.Errorf("store: unable to prepare migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: unable to migrate: %w", err)
	}
	return nil
}

// Close closes the pools.
func (s *store) Close() error {
	if s.dialect == sqldb.Postgres {
		return s.writer.Close()
	}
	return errors.Join(s.reader.Close(), s.writer.Close())
}

// forUpdate is appended to a SELECT in a write transaction to lock the
// rows it reads. On PostgreSQL, where nodes write at once, it makes a
// read-then-write atomic; SQLite's write transactions already hold the
// whole database (_txlock=immediate).
func (s *store) forUpdate() string {
	if s.dialect == sqldb.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// skipLocked is forUpdate for a claim: rows another node is claiming are
// passed over rather than waited for.
func (s *store) skipLocked(of ...string) string {
	if s.dialect != sqldb.Postgres {
		return ""
	}
	if len(of) > 0 {
		return " FOR UPDATE OF " + strings.Join(of, ", ") + " SKIP LOCKED"
	}
	return " FOR UPDATE SKIP LOCKED"
}

// millis is the storage form of a time.
func millis(t time.Time) int64 { return t.UnixMilli() }

// fromMillis is the API form of a stored time.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// inTx runs fn in a write transaction and commits it when fn returns nil.
func (s *store) inTx(ctx context.Context, fn func(tx *sqldb.Tx) error) error {
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
