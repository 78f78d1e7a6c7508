package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"scribe/deepscript"
)

// Update is what one channel (webhook, SSE or poll) learnt about an
// upstream job.
type Update struct {
	UpstreamID string
	Status     deepscript.Status
	Progress   float64
	Error      string             // when failed
	Result     *deepscript.Result // required when completed
	Via        string             // ViaWebhook, ViaSSE or ViaPoll
	UpstreamAt time.Time          // when the upstream says the change happened
	// WebhookID, when set, is recorded in the same transaction, so a
	// redelivered webhook is a no-op even when two copies race.
	WebhookID string
}

// ErrDuplicate reports a webhook-id that was already handled.
var ErrDuplicate = errors.New("duplicate webhook")

// DefaultFailure is a failed job's message when the upstream gave none.
const DefaultFailure = "Transcription failed."

// ErrMissingResult reports a completed update without its transcript.
var ErrMissingResult = errors.New("completed update without result")

// ApplyUpdate moves a job forward and reports whether anything changed.
// Status never moves backwards, progress never decreases, and a final
// state is never replaced: late, stale and repeated news is ignored.
func (s *Store) ApplyUpdate(ctx context.Context, u Update) (Job, bool, error) {
	if u.Status == deepscript.StatusCompleted && u.Result == nil {
		return Job{}, false, ErrMissingResult
	}
	var resultJSON []byte
	if u.Result != nil {
		var err error
		if resultJSON, err = json.Marshal(u.Result); err != nil {
			return Job{}, false, fmt.Errorf("store: unable to encode result: %w", err)
		}
	}
	var j Job
	var changed bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if u.WebhookID != "" {
			if err := recordReceipt(ctx, tx, u.WebhookID, string(u.Status), s.Now()); err != nil {
				return err
			}
		}
		var err error
		if j, err = jobByID(ctx, tx, "upstream_id = ?", u.UpstreamID); err != nil {
			return err
		}
		next, ok := advance(j, u)
		if !ok {
			return nil
		}
		if next.Seq, err = bump(ctx, tx, "seq"); err != nil {
			return err
		}
		next.UpdatedAt = s.Now()
		if next.Status.Final() {
			next.FinishedAt = next.UpdatedAt
		}
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = ?, progress = ?, error = ?, completed_via = ?,
			upstream_done_at = ?, finished_at = ?, seq = ?, updated_at = ?, result_json = COALESCE(?, result_json)
			WHERE id = ?`, next.Status, next.Progress, next.Error, next.CompletedVia, nullTime(next.UpstreamDone),
			nullTime(next.FinishedAt), next.Seq, next.UpdatedAt, nullBytes(resultJSON), j.ID)
		j, changed = next, err == nil
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrDuplicate) {
		err = fmt.Errorf("store: unable to apply update to %s: %w", u.UpstreamID, err)
	}
	return j, changed, err
}

// advance returns j moved forward by u, and false when u brings nothing new.
func advance(j Job, u Update) (Job, bool) {
	if j.Status.Final() || u.Status.Rank() < j.Status.Rank() || !u.Status.Valid() {
		return j, false
	}
	next := j
	next.Status = u.Status
	next.Progress = max(j.Progress, min(u.Progress, 1))
	switch u.Status {
	case deepscript.StatusCompleted:
		next.Progress = 1
	case deepscript.StatusFailed:
		// A failure always says so: the stream and /status may carry no
		// error object, and the job's "error" must not then be null.
		next.Error = cmp.Or(u.Error, DefaultFailure)
	}
	if u.Status.Final() {
		next.CompletedVia = u.Via
		next.UpstreamDone = u.UpstreamAt
	}
	return next, next.Status != j.Status || next.Progress != j.Progress
}

func recordReceipt(ctx context.Context, tx *sql.Tx, webhookID, event string, now time.Time) error {
	res, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO webhook_receipts (webhook_id, event, received_at) VALUES (?, ?, ?)",
		webhookID, event, now)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return ErrDuplicate
	}
	return nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
