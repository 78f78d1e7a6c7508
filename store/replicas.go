package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"

	"scribe/sqldb"
)

// What replicas sharing one PostgreSQL database need of it beyond tables:
// notifications of job changes, and locks that die with their holder.
// On SQLite there is one process, which needs neither.

// jobChangesChannel is the channel migrations/postgres/0003_replicas.sql
// notifies of every job change, in the transaction that makes it.
const jobChangesChannel = "job_changes"

// JobChange is a committed change to one of a user's jobs: its new
// state's seq, or its deletion.
type JobChange struct {
	UserID  int64
	Seq     int64
	JobID   string
	Deleted bool
}

// parseJobChange reads a notification's payload, "user:seq:job" and
// ":deleted" for a deletion.
func parseJobChange(payload string) (JobChange, error) {
	f := strings.Split(payload, ":")
	if len(f) < 3 || len(f) > 4 || (len(f) == 4 && f[3] != "deleted") {
		return JobChange{}, fmt.Errorf("store: malformed job change %q", payload)
	}
	user, err1 := strconv.ParseInt(f[0], 10, 64)
	seq, err2 := strconv.ParseInt(f[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return JobChange{}, fmt.Errorf("store: malformed job change %q: %w", payload, err)
	}
	return JobChange{UserID: user, Seq: seq, JobID: f[2], Deleted: len(f) == 4}, nil
}

// ChangeFeed receives the job changes every replica commits.
type ChangeFeed struct {
	// Connected is called each time the feed (re)connects: changes
	// committed while it was not connected were not, and will not be, told.
	Connected func()
	// Changed is called for each change, in commit order.
	Changed func(JobChange)
	// Failed is told of a lost connection (the feed reconnects) or a
	// malformed notification.
	Failed func(error)
}

// Notifies reports whether FollowJobChanges tells of every replica's
// changes: true on PostgreSQL.
func (s *Store) Notifies() bool { return s.Dialect() == sqldb.Postgres }

// FollowJobChanges feeds f with the job changes every replica commits,
// through PostgreSQL's LISTEN on a connection of its own, reconnecting
// after a second when it is lost, until ctx ends. On SQLite it returns at
// once: there, the one process knows its own changes.
func (s *Store) FollowJobChanges(ctx context.Context, f ChangeFeed) error {
	if !s.Notifies() {
		return nil
	}
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) { return pgx.Connect(ctx, s.url) },
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil {
				f.Failed(err)
			}
		},
		ReconnectDelay: time.Second,
	}
	l.Handle(jobChangesChannel, changeHandler(f))
	if err := l.Listen(ctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("store: following job changes: %w", err)
	}
	return nil
}

type changeHandler ChangeFeed

// HandleBacklog runs once LISTEN is in place, on each (re)connect.
func (h changeHandler) HandleBacklog(context.Context, string, *pgx.Conn) error {
	h.Connected()
	return nil
}

func (h changeHandler) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	c, err := parseJobChange(n.Payload)
	if err != nil {
		return err
	}
	h.Changed(c)
	return nil
}

// sessionLocks holds this replica's named locks (the upstream streams it
// follows, say): PostgreSQL session locks on one connection of their own,
// so they all end with it, and with the replica.
type sessionLocks struct {
	mu   sync.Mutex
	conn *pgx.Conn // nil until the first lock, or after it failed
}

// TryLock takes the lock called name for this replica, unless another
// replica holds it; always true on SQLite. It is held until Unlock, or
// until this replica's connection to the database ends (it dies, say).
func (s *Store) TryLock(ctx context.Context, name string) (bool, error) {
	if !s.Notifies() {
		return true, nil
	}
	var ok bool
	err := s.onLockConn(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", name).Scan(&ok)
	})
	if err != nil {
		return false, fmt.Errorf("store: unable to lock %s: %w", name, err)
	}
	return ok, nil
}

// Unlock releases the lock TryLock took.
func (s *Store) Unlock(ctx context.Context, name string) error {
	if !s.Notifies() {
		return nil
	}
	err := s.onLockConn(ctx, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", name)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: unable to unlock %s: %w", name, err)
	}
	return nil
}

// onLockConn runs fn on the locks' connection, connecting first if need
// be. A connection that fails is closed, and its locks end with it; so fn
// gets a context of its own, which the caller's end does not cut (pgx
// closes a connection whose query is cancelled).
func (s *Store) onLockConn(ctx context.Context, fn func(context.Context, *pgx.Conn) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	s.locks.mu.Lock()
	defer s.locks.mu.Unlock()
	if s.locks.conn == nil {
		c, err := pgx.Connect(ctx, s.url)
		if err != nil {
			return err
		}
		s.locks.conn = c
	}
	err := fn(ctx, s.locks.conn)
	if err != nil {
		s.locks.conn.Close(context.Background())
		s.locks.conn = nil
	}
	return err
}

// closeLocks ends the locks' connection, and so every lock on it.
func (s *Store) closeLocks() {
	s.locks.mu.Lock()
	defer s.locks.mu.Unlock()
	if s.locks.conn != nil {
		s.locks.conn.Close(context.Background())
		s.locks.conn = nil
	}
}

// Exclusive runs fn while no other replica runs an Exclusive of the same
// name (a PostgreSQL advisory lock on a connection of its own, so a
// replica that dies lets the next go on); on SQLite it just runs fn.
func (s *Store) Exclusive(ctx context.Context, name string, fn func() error) error {
	if !s.Notifies() {
		return fn()
	}
	c, err := pgx.Connect(ctx, s.url)
	if err != nil {
		return fmt.Errorf("store: unable to lock %s: %w", name, err)
	}
	defer c.Close(context.Background()) // and the lock with it
	if _, err := c.Exec(ctx, "SELECT pg_advisory_lock(hashtextextended($1, 0))", "exclusive:"+name); err != nil {
		return fmt.Errorf("store: unable to lock %s: %w", name, err)
	}
	return fn()
}

// SchemaURL creates schema name in the PostgreSQL database at dbURL unless
// it exists, and returns dbURL with the schema first on its search path:
// a database of its own for another component (the embedded engine)
// inside the app's.
func (s *Store) SchemaURL(ctx context.Context, dbURL, name string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", fmt.Errorf("store: database URL: %w", err)
	}
	if _, err := s.writer.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("store: unable to create schema %s: %w", name, err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
