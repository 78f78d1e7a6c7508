package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"scribe/deepscript"
	"scribe/random"
	"scribe/sqldb"
)

// CreateWebhook registers an endpoint; errDuplicateURL when its URL is
// already registered.
func (s *store) CreateWebhook(ctx context.Context, id, url string, events []string, secret string) (deepscript.WebhookEndpoint, error) {
	now := s.now()
	ep := deepscript.WebhookEndpoint{ID: id, URL: url, Events: events, Secret: secret, CreatedAt: fromMillis(millis(now))}
	list, err := json.Marshal(events)
	if err != nil {
		return ep, fmt.Errorf("store: unable to encode events: %w", err)
	}
	_, err = s.writer.ExecContext(ctx, `INSERT INTO webhook_endpoints (id, url, events, secret, created_at)
		VALUES (?, ?, ?, ?, ?)`, id, url, string(list), secret, millis(now))
	if sqldb.IsUniqueViolation(err) {
		return ep, errDuplicateURL
	}
	if err != nil {
		return ep, fmt.Errorf("store: unable to insert webhook endpoint: %w", err)
	}
	return ep, nil
}

// Webhooks lists the registered endpoints, oldest first, without secrets.
func (s *store) Webhooks(ctx context.Context) ([]deepscript.WebhookEndpoint, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, url, events, created_at FROM webhook_endpoints
		ORDER BY created_at, rowid`)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list webhook endpoints: %w", err)
	}
	defer rows.Close()
	list := []deepscript.WebhookEndpoint{}
	for rows.Next() {
		var (
			ep      deepscript.WebhookEndpoint
			events  string
			created int64
		)
		if err := rows.Scan(&ep.ID, &ep.URL, &events, &created); err != nil {
			return nil, fmt.Errorf("store: unable to list webhook endpoints: %w", err)
		}
		if err := json.Unmarshal([]byte(events), &ep.Events); err != nil {
			return nil, fmt.Errorf("store: unable to decode events of %s: %w", ep.ID, err)
		}
		ep.CreatedAt = fromMillis(created)
		list = append(list, ep)
	}
	return list, rows.Err()
}

// DeleteWebhook removes an endpoint and its pending deliveries.
func (s *store) DeleteWebhook(ctx context.Context, id string) error {
	res, err := s.writer.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: unable to delete webhook endpoint %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errNotFound
	}
	return nil
}

// enqueue adds payload to the outbox once for every endpoint matching the
// SQL condition where that subscribes to the event, all under one msg id.
// It returns how many deliveries it queued.
func (s *store) enqueue(ctx context.Context, tx *sqldb.Tx, payload deepscript.WebhookEvent,
	transcriptionID, where string, args ...any) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, events FROM webhook_endpoints WHERE `+where, args...)
	if err != nil {
		return 0, fmt.Errorf("store: unable to find webhook endpoints: %w", err)
	}
	var targets []string
	for rows.Next() {
		var id, events string
		if err := rows.Scan(&id, &events); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: unable to find webhook endpoints: %w", err)
		}
		var subscribed []string
		if err := json.Unmarshal([]byte(events), &subscribed); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: unable to decode events of %s: %w", id, err)
		}
		if slices.Contains(subscribed, payload.Event) {
			targets = append(targets, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: unable to find webhook endpoints: %w", err)
	}
	if len(targets) == 0 {
		return 0, nil
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return 0, fmt.Errorf("store: unable to encode webhook payload: %w", err)
	}
	msgID := random.ID("msg_")
	now := millis(s.now())
	var tr sql.NullString
	if transcriptionID != "" {
		tr = sql.NullString{String: transcriptionID, Valid: true}
	}
	for _, endpoint := range targets {
		if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries
			(msg_id, endpoint_id, event, transcription_id, payload, next_attempt_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, msgID, endpoint, payload.Event, tr, body, now, now); err != nil {
			return 0, fmt.Errorf("store: unable to queue delivery: %w", err)
		}
	}
	return len(targets), nil
}

// delivery is one outbox row joined with its endpoint.
type delivery struct {
	MsgID      string
	EndpointID string
	URL        string
	Secret     string
	Event      string
	Payload    []byte
	Attempts   int // attempts made before this one
}

// ClaimDueDeliveries returns up to limit deliveries whose time has come and
// pushes their next attempt lease into the future, so a delivery that is
// in flight when its node dies is retried, by any node, after the lease.
// On PostgreSQL, SKIP LOCKED lets nodes claim at once without taking the
// same delivery.
func (s *store) ClaimDueDeliveries(ctx context.Context, limit int, lease time.Duration) ([]delivery, error) {
	var due []delivery
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		now := s.now()
		rows, err := tx.QueryContext(ctx, `SELECT d.msg_id, d.endpoint_id, e.url, e.secret, d.event,
			d.payload, d.attempts
			FROM deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
			WHERE d.state = 'pending' AND d.next_attempt_at <= ?
			ORDER BY d.next_attempt_at LIMIT ?`+s.skipLocked("d"), millis(now), limit)
		if err != nil {
			return fmt.Errorf("store: unable to find due deliveries: %w", err)
		}
		for rows.Next() {
			var d delivery
			if err := rows.Scan(&d.MsgID, &d.EndpointID, &d.URL, &d.Secret, &d.Event, &d.Payload, &d.Attempts); err != nil {
				rows.Close()
				return fmt.Errorf("store: unable to find due deliveries: %w", err)
			}
			due = append(due, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: unable to find due deliveries: %w", err)
		}
		for _, d := range due {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET next_attempt_at = ?
				WHERE msg_id = ? AND endpoint_id = ?`, millis(now.Add(lease)), d.MsgID, d.EndpointID); err != nil {
				return fmt.Errorf("store: unable to lease delivery %s: %w", d.MsgID, err)
			}
		}
		return nil
	})
	return due, err
}

// attemptOutcome is what became of one delivery attempt.
type attemptOutcome struct {
	Delivered bool
	Error     string    // why it failed, for the operator
	RetryAt   time.Time // when to try again; zero means give up
}

// RecordAttempt stores the outcome of an attempt.
func (s *store) RecordAttempt(ctx context.Context, d delivery, o attemptOutcome) error {
	now := millis(s.now())
	var err error
	switch {
	case o.Delivered:
		_, err = s.writer.ExecContext(ctx, `UPDATE deliveries SET state = 'delivered', attempts = attempts + 1,
			last_error = '', finished_at = ? WHERE msg_id = ? AND endpoint_id = ?`, now, d.MsgID, d.EndpointID)
	case o.RetryAt.IsZero():
		_, err = s.writer.ExecContext(ctx, `UPDATE deliveries SET state = 'abandoned', attempts = attempts + 1,
			last_error = ?, finished_at = ? WHERE msg_id = ? AND endpoint_id = ?`, o.Error, now, d.MsgID, d.EndpointID)
	default:
		_, err = s.writer.ExecContext(ctx, `UPDATE deliveries SET attempts = attempts + 1, last_error = ?,
			next_attempt_at = ? WHERE msg_id = ? AND endpoint_id = ?`, o.Error, millis(o.RetryAt), d.MsgID, d.EndpointID)
	}
	if err != nil {
		return fmt.Errorf("store: unable to record attempt of %s: %w", d.MsgID, err)
	}
	return nil
}

// ReleaseDelivery makes a leased delivery due now without counting an
// attempt (the attempt was cut short by shutdown).
func (s *store) ReleaseDelivery(ctx context.Context, d delivery) error {
	if _, err := s.writer.ExecContext(ctx, `UPDATE deliveries SET next_attempt_at = ?
		WHERE msg_id = ? AND endpoint_id = ? AND state = 'pending'`, millis(s.now()), d.MsgID, d.EndpointID); err != nil {
		return fmt.Errorf("store: unable to release delivery %s: %w", d.MsgID, err)
	}
	return nil
}

// NextDeliveryAt is when the earliest pending delivery is due; ok is false
// when the outbox is empty.
func (s *store) NextDeliveryAt(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	if err := s.reader.QueryRowContext(ctx, `SELECT min(next_attempt_at) FROM deliveries
		WHERE state = 'pending'`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("store: unable to find next delivery: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromMillis(next.Int64), true, nil
}

// deliveryState is an outbox row as tests and operators see it.
type deliveryState struct {
	MsgID           string
	Event           string
	TranscriptionID string
	State           string
	Attempts        int
}

// Deliveries lists the outbox, oldest first.
func (s *store) Deliveries(ctx context.Context) ([]deliveryState, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT msg_id, event, coalesce(transcription_id, ''), state, attempts FROM deliveries
		ORDER BY created_at, rowid`)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list deliveries: %w", err)
	}
	defer rows.Close()
	var list []deliveryState
	for rows.Next() {
		var d deliveryState
		if err := rows.Scan(&d.MsgID, &d.Event, &d.TranscriptionID, &d.State, &d.Attempts); err != nil {
			return nil, fmt.Errorf("store: unable to list deliveries: %w", err)
		}
		list = append(list, d)
	}
	return list, rows.Err()
}

// deliveryRetention is how long a finished delivery's row is kept, for
// looking into what was sent.
const deliveryRetention = 7 * 24 * time.Hour

// PruneDeliveries removes deliveries that ended over deliveryRetention ago;
// pending ones stay whatever their age.
func (s *store) PruneDeliveries(ctx context.Context) error {
	if _, err := s.writer.ExecContext(ctx, `DELETE FROM deliveries WHERE state != 'pending' AND finished_at <= ?`,
		millis(s.now().Add(-deliveryRetention))); err != nil {
		return fmt.Errorf("store: unable to prune deliveries: %w", err)
	}
	return nil
}
