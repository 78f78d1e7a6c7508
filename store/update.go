package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"scribe/job"
)

// ErrDuplicate reports a webhook-id that was already handled.
var ErrDuplicate = errors.New("duplicate webhook")

// ErrMissingResult reports a completed update without its transcript.
var ErrMissingResult = errors.New("completed update without result")

// ApplyUpdate moves a job forward and reports whether anything changed.
// Status never moves backwards, progress never decreases, and a final
// state is never replaced: late, stale and repeated news is ignored. The
// result that completes a job becomes its first, current, revision; a
// different result arriving later is kept as a revision of its own (see
// keepLateResult). The event the change makes is written to the owner's
// webhook outbox in the same transaction.
func (s *Store) ApplyUpdate(ctx context.Context, u job.Update) (job.Job, bool, error) {
	if u.Status == job.StatusCompleted && u.Result == nil {
		return job.Job{}, false, ErrMissingResult
	}
	var resultJSON []byte
	if u.Result != nil {
		var err error
		if resultJSON, err = json.Marshal(u.Result); err != nil {
			return job.Job{}, false, fmt.Errorf("store: unable to encode result: %w", err)
		}
	}
	var j job.Job
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
		next, ok := job.Advance(j, u)
		if !ok {
			if j.Status == job.StatusCompleted && resultJSON != nil {
				return keepLateResult(ctx, tx, j.ID, resultJSON, s.Now())
			}
			return nil
		}
		if next.Seq, err = bump(ctx, tx, "seq"); err != nil {
			return err
		}
		next.UpdatedAt = s.Now()
		if next.Status.Final() {
			next.FinishedAt = next.UpdatedAt
		}
		if next.Status == job.StatusCompleted {
			rev := job.Revision{JobID: j.ID, Source: job.SourceUpstream, CreatedAt: next.UpdatedAt}
			if next.RevisionID, err = insertRevision(ctx, tx, rev, resultJSON); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = ?, progress = ?, error = ?, completed_via = ?,
			upstream_done_at = ?, finished_at = ?, seq = ?, updated_at = ?, revision_id = ?
			WHERE id = ?`, next.Status, next.Progress, next.Error, next.CompletedVia, nullTime(next.UpstreamDone),
			nullTime(next.FinishedAt), next.Seq, next.UpdatedAt, nullInt(next.RevisionID), j.ID)
		if err != nil {
			return err
		}
		if err := enqueueJobEvent(ctx, tx, next.UpdatedAt, j, next); err != nil {
			return err
		}
		j, changed = next, true
		return nil
	})
	if err != nil && !errors.Is(err, job.ErrNotFound) && !errors.Is(err, ErrDuplicate) {
		err = fmt.Errorf("store: unable to apply update to %s: %w", u.UpstreamID, err)
	}
	return j, changed, err
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

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}
