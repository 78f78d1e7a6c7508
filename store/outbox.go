package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"scribe/job"
	"scribe/random"
	"scribe/sqldb"
)

// MaxHookEndpoints is how many webhook endpoints one user may register:
// each event of theirs is written once per endpoint.
const MaxHookEndpoints = 10

// ErrTooManyHookEndpoints refuses an endpoint past MaxHookEndpoints.
var ErrTooManyHookEndpoints = job.Errorf(job.CodeConflict,
	fmt.Sprintf("You already have %d webhook endpoints. Delete one first.", MaxHookEndpoints))

// ErrDeliveryInFlight refuses to redeliver an event while it is being sent.
var ErrDeliveryInFlight = job.Errorf(job.CodeConflict, "That event is being sent right now. Try again in a moment.")

// HookEndpoint is a user's own webhook endpoint.
type HookEndpoint struct {
	ID        string
	UserID    int64
	URL       string
	Secret    string // "whsec_" and the base64 signing key
	Events    []job.Event
	CreatedAt time.Time
}

// The states of a delivery.
const (
	DeliveryPending   = "pending"   // to be tried at NextAttemptAt
	DeliveryDelivered = "delivered" // the endpoint answered 2xx
	DeliveryFailed    = "failed"    // retries ran out
)

// HookDelivery is one event on its way to one endpoint, and how its
// attempts went.
type HookDelivery struct {
	ID            int64
	MessageID     string // the webhook-id, the same on every attempt
	EndpointID    string
	Event         job.Event
	JobID         string   // empty for a test event
	Job           *job.Job // the job as it was at the event; nil for a test event
	OccurredAt    time.Time
	State         string
	Attempts      int
	NextAttemptAt time.Time // zero unless pending
	RetryFrom     time.Time // when retries began: the event, or a redelivery by hand
	LastAttemptAt time.Time
	LastStatus    int // HTTP status of the last attempt; 0 when none came
	LastError     string

	// Where it goes, for the dispatcher.
	URL, Secret string
}

// HookAttempt is the outcome of one attempt to deliver.
type HookAttempt struct {
	At     time.Time
	Status int    // HTTP status; 0 when no answer came
	Error  string // why it failed; empty when delivered
	// State is the delivery's state now, and Next, when pending, the time
	// of its next attempt.
	State string
	Next  time.Time
}

// CreateHookEndpoint registers an endpoint of e.UserID's; it fills ID and
// CreatedAt.
func (s *Store) CreateHookEndpoint(ctx context.Context, e HookEndpoint) (HookEndpoint, error) {
	events, err := json.Marshal(e.Events)
	if err != nil {
		return HookEndpoint{}, fmt.Errorf("store: unable to encode events: %w", err)
	}
	e.ID, e.CreatedAt = random.ID("ep_"), s.Now()
	err = s.inTx(ctx, func(tx *sqldb.Tx) error {
		if err := lockUser(ctx, tx, e.UserID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM hook_endpoints WHERE user_id = ?", e.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxHookEndpoints {
			return ErrTooManyHookEndpoints
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO hook_endpoints (id, user_id, url, secret, events, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, e.ID, e.UserID, e.URL, e.Secret, string(events), e.CreatedAt)
		return err
	})
	if err != nil && !errors.Is(err, ErrTooManyHookEndpoints) {
		err = fmt.Errorf("store: unable to create webhook endpoint: %w", err)
	}
	return e, err
}

// HookEndpoints lists a user's endpoints, oldest first.
func (s *Store) HookEndpoints(ctx context.Context, userID int64) ([]HookEndpoint, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, user_id, url, secret, events, created_at
		FROM hook_endpoints WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list webhook endpoints: %w", err)
	}
	defer rows.Close()
	var out []HookEndpoint
	for rows.Next() {
		var e HookEndpoint
		var events string
		if err := rows.Scan(&e.ID, &e.UserID, &e.URL, &e.Secret, &events, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("store: unable to read webhook endpoint: %w", err)
		}
		if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
			return nil, fmt.Errorf("store: webhook endpoint %s has corrupt events: %w", e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteHookEndpoint removes a user's endpoint and its deliveries;
// job.ErrNotFound when the user has no such endpoint.
func (s *Store) DeleteHookEndpoint(ctx context.Context, userID int64, id string) error {
	res, err := s.writer.ExecContext(ctx, "DELETE FROM hook_endpoints WHERE id = ? AND user_id = ?", id, userID)
	if err != nil {
		return fmt.Errorf("store: unable to delete webhook endpoint %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return job.ErrNotFound
	}
	return nil
}

const deliveryColumns = `d.id, d.message_id, d.endpoint_id, d.event, COALESCE(d.job_id, ''), d.job_json,
	d.occurred_at, d.state, d.attempts, d.next_attempt_at, d.retry_from, d.last_attempt_at, d.last_status,
	d.last_error, e.url, e.secret`

func scanDelivery(r rowScanner) (HookDelivery, error) {
	var d HookDelivery
	var snapshot sql.NullString
	var next, last sql.NullTime
	err := r.Scan(&d.ID, &d.MessageID, &d.EndpointID, &d.Event, &d.JobID, &snapshot, &d.OccurredAt, &d.State,
		&d.Attempts, &next, &d.RetryFrom, &last, &d.LastStatus, &d.LastError, &d.URL, &d.Secret)
	if err != nil {
		return d, err
	}
	d.NextAttemptAt, d.LastAttemptAt = next.Time, last.Time
	if snapshot.Valid {
		d.Job = new(job.Job)
		if err := json.Unmarshal([]byte(snapshot.String), d.Job); err != nil {
			return d, fmt.Errorf("delivery %d has a corrupt job: %w", d.ID, err)
		}
	}
	return d, nil
}

func queryDeliveries(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, where string, args ...any) ([]HookDelivery, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+deliveryColumns+
		" FROM hook_deliveries d JOIN hook_endpoints e ON e.id = d.endpoint_id "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []HookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// HookDeliveries lists the latest deliveries to a user's endpoint, newest
// first.
func (s *Store) HookDeliveries(ctx context.Context, userID int64, endpointID string, limit int) ([]HookDelivery, error) {
	out, err := queryDeliveries(ctx, s.reader, "WHERE d.endpoint_id = ? AND e.user_id = ? ORDER BY d.id DESC LIMIT ?",
		endpointID, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list deliveries of %s: %w", endpointID, err)
	}
	return out, nil
}

// EnqueueTestEvent queues a test event to a user's endpoint;
// job.ErrNotFound when the user has no such endpoint.
func (s *Store) EnqueueTestEvent(ctx context.Context, userID int64, endpointID string) error {
	now := s.Now()
	res, err := s.writer.ExecContext(ctx, `INSERT INTO hook_deliveries (message_id, endpoint_id, event, occurred_at,
		next_attempt_at, retry_from, created_at) SELECT ?, id, ?, ?, ?, ?, ? FROM hook_endpoints WHERE id = ? AND user_id = ?`,
		random.ID("msg_"), job.EventTest, now, now, now, now, endpointID, userID)
	if err != nil {
		return fmt.Errorf("store: unable to queue a test event for %s: %w", endpointID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return job.ErrNotFound
	}
	return nil
}

// Redeliver sends a delivery to a user's endpoint again, now, under the
// same webhook-id, with a fresh retry schedule; job.ErrNotFound when the
// user has no such delivery, ErrDeliveryInFlight while it is being sent.
func (s *Store) Redeliver(ctx context.Context, userID, deliveryID int64) error {
	now := s.Now()
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		var inFlight bool
		// In flight until its lease runs out, should its replica have died.
		err := tx.QueryRowContext(ctx, `SELECT d.in_flight = 1 AND d.next_attempt_at > ? FROM hook_deliveries d
			JOIN hook_endpoints e ON e.id = d.endpoint_id WHERE d.id = ? AND e.user_id = ?`+onPostgres(tx, " FOR UPDATE OF d"),
			now, deliveryID, userID).Scan(&inFlight)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return job.ErrNotFound
		case err != nil:
			return err
		case inFlight:
			return ErrDeliveryInFlight
		}
		_, err = tx.ExecContext(ctx, `UPDATE hook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?,
			retry_from = ? WHERE id = ?`, now, now, deliveryID)
		return err
	})
	if err != nil && job.ErrorCode(err) == job.CodeInternal {
		err = fmt.Errorf("store: unable to redeliver %d: %w", deliveryID, err)
	}
	return err
}

// enqueueJobEvent writes the event of a job's change from prev to next, if
// any, to the outbox of each of the owner's endpoints that subscribe to
// it, in the transaction of the change. A progress event for an endpoint
// that has one pending and not yet tried updates that one instead; a
// final event drops such leftovers.
func enqueueJobEvent(ctx context.Context, tx *sqldb.Tx, now time.Time, prev, next job.Job) error {
	event, ok := job.EventOf(prev, next)
	if !ok {
		return nil
	}
	// Most users have no endpoint, and then no deliveries either (they go
	// with their endpoint): one indexed lookup, and nothing to write.
	var hooked bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM hook_endpoints WHERE user_id = ?)", next.UserID).Scan(&hooked); err != nil || !hooked {
		return err
	}
	snapshot, err := json.Marshal(next)
	if err != nil {
		return err
	}
	// Leftovers that nobody has tried yet: the newer news replaces them.
	const untried = "job_id = ? AND event = 'job.progress' AND state = 'pending' AND last_attempt_at IS NULL AND in_flight = 0"
	if event == job.EventProgress {
		if _, err := tx.ExecContext(ctx, "UPDATE hook_deliveries SET job_json = ?, occurred_at = ? WHERE "+untried,
			string(snapshot), now, next.ID); err != nil {
			return err
		}
	} else if _, err := tx.ExecContext(ctx, "DELETE FROM hook_deliveries WHERE "+untried, next.ID); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT e.id FROM hook_endpoints e
		WHERE e.user_id = ? AND EXISTS (SELECT 1 FROM `+eventsOf[tx.Dialect]+` WHERE value = ?)
		AND NOT EXISTS (SELECT 1 FROM hook_deliveries d WHERE d.endpoint_id = e.id AND d.`+untried+`)`,
		next.UserID, event, next.ID)
	if err != nil {
		return err
	}
	var endpoints []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		endpoints = append(endpoints, id)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, id := range endpoints {
		_, err := tx.ExecContext(ctx, `INSERT INTO hook_deliveries (message_id, endpoint_id, event, job_id, job_json,
			occurred_at, next_attempt_at, retry_from, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			random.ID("msg_"), id, event, next.ID, string(snapshot), now, now, now, now)
		if err != nil {
			return err
		}
	}
	return nil
}

// eventsOf is an endpoint e's subscribed events as a table of one column,
// value, per dialect.
var eventsOf = map[sqldb.Dialect]string{
	sqldb.SQLite:   "json_each(e.events)",
	sqldb.Postgres: "jsonb_array_elements_text(e.events::jsonb) AS ev(value)",
}

// ClaimHookDeliveries marks up to limit pending deliveries that are due
// as in flight on this replica and returns them, earliest first; accept
// may pass over some (an endpoint with enough in flight already). Each
// one's next attempt moves lease ahead: no other replica sends it
// meanwhile, and should this one die mid-attempt, another sends it once
// the lease has run out. On PostgreSQL, rows another replica is claiming
// right now are skipped rather than waited for.
func (s *Store) ClaimHookDeliveries(ctx context.Context, limit int, lease time.Duration, accept func(HookDelivery) bool) ([]HookDelivery, error) {
	var claimed []HookDelivery
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		now := s.Now()
		due, err := queryDeliveries(ctx, tx, `WHERE d.state = 'pending' AND d.next_attempt_at <= ?
			ORDER BY d.next_attempt_at LIMIT ?`+onPostgres(tx, " FOR UPDATE OF d SKIP LOCKED"), now, 4*limit)
		if err != nil {
			return err
		}
		var ids []string
		for _, d := range due {
			if len(claimed) < limit && accept(d) {
				claimed = append(claimed, d)
				ids = append(ids, fmt.Sprint(d.ID))
			}
		}
		if len(ids) == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, "UPDATE hook_deliveries SET in_flight = 1, claimed_by = ?, next_attempt_at = ? WHERE id IN ("+
			strings.Join(ids, ",")+")", s.Replica, now.Add(lease))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: unable to claim deliveries: %w", err)
	}
	return claimed, nil
}

// RecordHookAttempt records how an attempt to deliver went and ends it.
func (s *Store) RecordHookAttempt(ctx context.Context, deliveryID int64, a HookAttempt) error {
	_, err := s.writer.ExecContext(ctx, `UPDATE hook_deliveries SET in_flight = 0, claimed_by = NULL, attempts = attempts + 1,
		last_attempt_at = ?, last_status = ?, last_error = ?, state = ?, next_attempt_at = ? WHERE id = ?`,
		a.At, a.Status, a.Error, a.State, nullTime(a.Next), deliveryID)
	if err != nil {
		return fmt.Errorf("store: unable to record attempt of delivery %d: %w", deliveryID, err)
	}
	return nil
}

// ReleaseHookDeliveries makes the deliveries this replica had in flight
// due now: the dispatcher calls it on start, when none of its attempts can
// be under way, so those a crash interrupted are sent again at once.
func (s *Store) ReleaseHookDeliveries(ctx context.Context) error {
	if _, err := s.writer.ExecContext(ctx, `UPDATE hook_deliveries SET in_flight = 0, claimed_by = NULL, next_attempt_at = ?
		WHERE claimed_by = ? AND in_flight = 1`, s.Now(), s.Replica); err != nil {
		return fmt.Errorf("store: unable to release deliveries: %w", err)
	}
	return nil
}

// PruneHookDeliveries removes finished deliveries older than before and
// reports how many.
func (s *Store) PruneHookDeliveries(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.writer.ExecContext(ctx, "DELETE FROM hook_deliveries WHERE state != 'pending' AND created_at < ?", before.UTC())
	if err != nil {
		return 0, fmt.Errorf("store: unable to prune deliveries: %w", err)
	}
	return res.RowsAffected()
}
