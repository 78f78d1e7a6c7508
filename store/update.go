package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"scribe/job"
	"scribe/sqldb"
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
	a := s.ApplyUpdates(ctx, []job.Update{u})[0]
	return a.Job, a.Changed, a.Err
}

// Applied is what applying one update did: the job as it now is and
// whether it changed, or why the update was not applied.
type Applied struct {
	Job     job.Job
	Changed bool
	Err     error
}

// ApplyUpdates applies updates in order, each as ApplyUpdate would, in
// one transaction: a group commit, so a burst of news costs one commit
// rather than one each. Each update runs inside a savepoint, so one that
// fails (an unknown job, a duplicate webhook-id) leaves no trace and does
// not fail the others; later updates see the effects of earlier ones, so
// a webhook-id repeated within the batch is a duplicate too. When the
// commit itself fails, every update reports that error.
func (s *Store) ApplyUpdates(ctx context.Context, updates []job.Update) []Applied {
	out := make([]Applied, len(updates))
	err := s.inChangeTx(ctx, func(tx *sqldb.Tx) error {
		for k, u := range updates {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT apply_update"); err != nil {
				return err
			}
			out[k].Job, out[k].Changed, out[k].Err = s.applyUpdate(ctx, tx, u)
			if out[k].Err != nil {
				out[k].Changed = false
				// Some errors (a full disk) end the whole transaction, and
				// the savepoint with it; every update then reports both.
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO apply_update"); err != nil {
					return errors.Join(out[k].Err, err)
				}
			}
			if _, err := tx.ExecContext(ctx, "RELEASE apply_update"); err != nil {
				return err
			}
		}
		return nil
	})
	for k, u := range updates {
		e := diskFull(out[k].Err)
		if err != nil {
			out[k], e = Applied{}, err
		}
		if e != nil && !errors.Is(e, job.ErrNotFound) && !errors.Is(e, ErrDuplicate) {
			e = fmt.Errorf("store: unable to apply update to %s: %w", u.UpstreamID, e)
		}
		out[k].Err = e
	}
	return out
}

// applyUpdate is one update of ApplyUpdates.
func (s *Store) applyUpdate(ctx context.Context, tx *sqldb.Tx, u job.Update) (job.Job, bool, error) {
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
	if u.WebhookID != "" {
		if err := recordReceipt(ctx, tx, u.WebhookID, string(u.Status), s.Now()); err != nil {
			return job.Job{}, false, err
		}
	}
	j, err := jobByID(ctx, tx, "upstream_id = ?"+forUpdate(tx), u.UpstreamID)
	if err != nil {
		return job.Job{}, false, err
	}
	next, ok := job.Advance(j, u)
	if !ok {
		if j.Status == job.StatusCompleted && resultJSON != nil {
			return j, false, keepLateResult(ctx, tx, j.ID, resultJSON, s.Now())
		}
		return j, false, nil
	}
	if next.Seq, err = bump(ctx, tx, "seq"); err != nil {
		return job.Job{}, false, err
	}
	next.UpdatedAt = s.Now()
	if next.Status.Final() {
		next.FinishedAt = next.UpdatedAt
	}
	if next.Status == job.StatusCompleted {
		rev := job.Revision{JobID: j.ID, Source: job.SourceUpstream, CreatedAt: next.UpdatedAt}
		if next.RevisionID, err = insertRevision(ctx, tx, rev, resultJSON); err != nil {
			return job.Job{}, false, err
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = ?, progress = ?, error = ?, completed_via = ?,
		upstream_done_at = ?, finished_at = ?, seq = ?, updated_at = ?, revision_id = ?
		WHERE id = ?`, next.Status, next.Progress, next.Error, next.CompletedVia, nullTime(next.UpstreamDone),
		nullTime(next.FinishedAt), next.Seq, next.UpdatedAt, nullInt(next.RevisionID), j.ID)
	if err != nil {
		return job.Job{}, false, err
	}
	if next.RevisionID != j.RevisionID {
		if err := reindex(ctx, tx, j.ID); err != nil {
			return job.Job{}, false, err
		}
	}
	if err := enqueueJobEvent(ctx, tx, next.UpdatedAt, j, next); err != nil {
		return job.Job{}, false, err
	}
	return next, true, nil
}

func recordReceipt(ctx context.Context, tx *sqldb.Tx, webhookID, event string, now time.Time) error {
	res, err := tx.ExecContext(ctx, "INSERT INTO webhook_receipts (webhook_id, event, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
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
