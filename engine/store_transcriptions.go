package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"scribe/deepscript"
	"scribe/sqldb"
)

// newTranscription is what a submit stores.
type newTranscription struct {
	ID             string
	Language       string
	Metadata       string
	WebhookURL     string
	AudioPath      string
	FileSHA256     string
	Duration       float64 // probed, also the charge; 0 when unknown
	IdempotencyKey string
}

// createOutcome is what CreateTranscription did.
type createOutcome struct {
	Transcription deepscript.Transcription
	Existing      bool      // an earlier submit with the same Idempotency-Key
	Event         *jobEvent // the first status event of a new job
	Deliveries    bool      // a balance.low delivery was queued
}

// claimedJob is a job a worker has taken.
type claimedJob struct {
	ID        string
	AudioPath string
	Language  string
	Duration  float64 // probed at submit
	Progress  float64 // high-water mark, kept across re-runs
}

// transcriptionColumns are read by scanTranscription in this order.
const transcriptionColumns = `id, status, progress, created_at, updated_at, duration,
	language, metadata, error_code, error_message`

type rowScanner interface{ Scan(dest ...any) error }

func scanTranscription(row rowScanner, extra ...any) (deepscript.Transcription, error) {
	var (
		t                  deepscript.Transcription
		created, updated   int64
		duration           sql.NullFloat64
		errCode, errString sql.NullString
	)
	dest := append([]any{&t.ID, &t.Status, &t.Progress, &created, &updated, &duration,
		&t.Language, &t.Metadata, &errCode, &errString}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return t, errNotFound
		}
		return t, err
	}
	t.CreatedAt, t.UpdatedAt = fromMillis(created), fromMillis(updated)
	if duration.Valid {
		d := duration.Float64
		t.Duration = &d
	}
	if errCode.Valid {
		t.Error = &deepscript.ErrorBody{Code: errCode.String, Message: errString.String}
	}
	return t, nil
}

// Transcription returns a job, with its result when withResult is set and
// the job has completed.
func (s *store) Transcription(ctx context.Context, id string, withResult bool) (deepscript.Transcription, error) {
	var result sql.NullString
	row := s.reader.QueryRowContext(ctx, `SELECT `+transcriptionColumns+`, result
		FROM transcriptions WHERE id = ?`, id)
	t, err := scanTranscription(row, &result)
	if err != nil {
		if errors.Is(err, errNotFound) {
			return t, err
		}
		return t, fmt.Errorf("store: unable to load transcription %s: %w", id, err)
	}
	if withResult && result.Valid {
		var r deepscript.Result
		if err := json.Unmarshal([]byte(result.String), &r); err != nil {
			return t, fmt.Errorf("store: unable to decode result of %s: %w", id, err)
		}
		t.Result = &r
	}
	return t, nil
}

// IdempotentTranscription looks up a live Idempotency-Key without writing:
// the id it maps to and the hash of the file it was used with.
func (s *store) IdempotentTranscription(ctx context.Context, key string) (id, sha string, err error) {
	err = s.reader.QueryRowContext(ctx, `SELECT transcription_id, file_sha256 FROM idempotency_keys
		WHERE key = ? AND created_at > ?`, key, millis(s.now().Add(-idempotencyTTL))).Scan(&id, &sha)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", errNotFound
	}
	if err != nil {
		return "", "", fmt.Errorf("store: unable to look up idempotency key: %w", err)
	}
	return id, sha, nil
}

// CreateTranscription stores a new queued job, or returns the job an
// earlier submit with the same Idempotency-Key created; errQueueFull when
// maxQueued jobs already wait. It charges the
// balance and queues balance.low when the charge crosses the threshold.
func (s *store) CreateTranscription(ctx context.Context, in newTranscription) (createOutcome, error) {
	var out createOutcome
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		if err := s.lockCreates(ctx, tx); err != nil {
			return err
		}
		now := s.now()
		if in.IdempotencyKey != "" {
			var id, sha string
			var created int64
			err := tx.QueryRowContext(ctx, `SELECT transcription_id, file_sha256, created_at
				FROM idempotency_keys WHERE key = ?`, in.IdempotencyKey).Scan(&id, &sha, &created)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return fmt.Errorf("store: unable to look up idempotency key: %w", err)
			case fromMillis(created).Before(now.Add(-idempotencyTTL)):
				if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE key = ?`, in.IdempotencyKey); err != nil {
					return fmt.Errorf("store: unable to expire idempotency key: %w", err)
				}
			case sha != in.FileSHA256:
				return errIdempotencyConflict
			default:
				t, err := scanTranscription(tx.QueryRowContext(ctx, `SELECT `+transcriptionColumns+`
					FROM transcriptions WHERE id = ?`, id))
				if err != nil {
					return fmt.Errorf("store: unable to load transcription %s: %w", id, err)
				}
				out.Transcription, out.Existing = t, true
				return nil
			}
		}
		// Counted in the creating transaction, which creates take in turns
		// (lockCreates), so concurrent creates cannot overshoot the cap.
		if err := s.checkQueue(ctx, tx); err != nil {
			return err
		}
		if in.WebhookURL != "" {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webhook_endpoints WHERE url = ?`,
				in.WebhookURL).Scan(&n); err != nil {
				return fmt.Errorf("store: unable to look up webhook url: %w", err)
			}
			if n == 0 {
				return errWebhookNotFound
			}
		}
		queued, err := s.charge(ctx, tx, in.Duration)
		if err != nil {
			return err
		}
		out.Deliveries = queued
		// A duration ffprobe could not tell (a streamed webm, say) is
		// stored as NULL: the contract's "null until known".
		var duration sql.NullFloat64
		if in.Duration > 0 {
			duration = sql.NullFloat64{Float64: in.Duration, Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO transcriptions
			(id, status, created_at, updated_at, duration, language, metadata, webhook_url,
			 audio_path, file_sha256, charged_seconds)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			in.ID, deepscript.StatusQueued, millis(now), millis(now), duration, in.Language,
			in.Metadata, in.WebhookURL, in.AudioPath, in.FileSHA256, s.chargeFor(in.Duration)); err != nil {
			return fmt.Errorf("store: unable to insert transcription: %w", err)
		}
		if in.IdempotencyKey != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys
				(key, file_sha256, transcription_id, created_at) VALUES (?, ?, ?, ?)`,
				in.IdempotencyKey, in.FileSHA256, in.ID, millis(now)); err != nil {
				return fmt.Errorf("store: unable to insert idempotency key: %w", err)
			}
		}
		ev, err := s.appendEvent(ctx, tx, in.ID, deepscript.EventStatus, now)
		if err != nil {
			return err
		}
		out.Event = &ev
		if err := s.notify(ctx, tx, queueChannel, ""); err != nil {
			return err
		}
		out.Transcription, err = scanTranscription(tx.QueryRowContext(ctx, `SELECT `+transcriptionColumns+`
			FROM transcriptions WHERE id = ?`, in.ID))
		return err
	})
	return out, err
}

// lockCreates makes creates take turns. SQLite's write transactions do
// already (_txlock=immediate); on PostgreSQL, where several nodes create at
// once, each create locks the one balance row first, so the queue cap, the
// balance and a reused Idempotency-Key are decided as on SQLite. A create
// is a few short statements, so the turns cost little.
func (s *store) lockCreates(ctx context.Context, tx *sqldb.Tx) error {
	if s.dialect != sqldb.Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM balance_usage WHERE id = 1 FOR UPDATE`); err != nil {
		return fmt.Errorf("store: unable to lock creates: %w", err)
	}
	return nil
}

// CheckQueue returns errQueueFull when maxQueued jobs wait. It reads
// without a lock, so a create may still be refused after it passes.
func (s *store) CheckQueue(ctx context.Context) error {
	return s.checkQueue(ctx, s.reader)
}

// checkQueue counts the queued jobs with q, a transaction or a pool.
func (s *store) checkQueue(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) error {
	if s.maxQueued <= 0 {
		return nil
	}
	var queued int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM transcriptions WHERE status = ?`,
		deepscript.StatusQueued).Scan(&queued); err != nil {
		return fmt.Errorf("store: unable to count queued transcriptions: %w", err)
	}
	if queued >= s.maxQueued {
		return errQueueFull
	}
	return nil
}

// ClaimNext takes the oldest runnable job for a worker of this node: a
// queued one, or a processing one whose lease ran out (its node died or
// stopped). It leases the job to this node for s.lease; the worker renews
// the lease while it runs (RenewLease). On PostgreSQL, SKIP LOCKED lets
// the nodes claim at once without waiting on, or taking, the same row. It
// returns errNotFound when there is none. The status event is set when the
// job moved from queued to processing.
func (s *store) ClaimNext(ctx context.Context) (claimedJob, *jobEvent, error) {
	var (
		job claimedJob
		ev  *jobEvent
	)
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		now := s.now()
		var status deepscript.Status
		var duration sql.NullFloat64
		err := tx.QueryRowContext(ctx, `SELECT id, status, audio_path, language, duration, progress
			FROM transcriptions WHERE status IN ('queued', 'processing') AND leased_until < ?
			ORDER BY created_at, rowid LIMIT 1`+s.skipLocked(), millis(now)).
			Scan(&job.ID, &status, &job.AudioPath, &job.Language, &duration, &job.Progress)
		if errors.Is(err, sql.ErrNoRows) {
			return errNotFound
		}
		if err != nil {
			return fmt.Errorf("store: unable to find a runnable job: %w", err)
		}
		job.Duration = duration.Float64
		if _, err := tx.ExecContext(ctx, `UPDATE transcriptions SET status = ?, lease_owner = ?, leased_until = ?,
			updated_at = CASE WHEN status = ? THEN ? ELSE updated_at END WHERE id = ?`,
			deepscript.StatusProcessing, s.owner, millis(now.Add(s.lease)),
			deepscript.StatusQueued, millis(now), job.ID); err != nil {
			return fmt.Errorf("store: unable to claim job %s: %w", job.ID, err)
		}
		if status == deepscript.StatusQueued {
			e, err := s.appendEvent(ctx, tx, job.ID, deepscript.EventStatus, now)
			if err != nil {
				return err
			}
			ev = &e
		}
		return nil
	})
	return job, ev, err
}

// RenewLease extends this node's lease on a job it runs. It reports false
// when the lease is no longer this node's (it ran out and another node
// took the job) or the job is gone: the worker must stop.
func (s *store) RenewLease(ctx context.Context, id string) (bool, error) {
	res, err := s.writer.ExecContext(ctx, `UPDATE transcriptions SET leased_until = ?
		WHERE id = ? AND lease_owner = ? AND status = ?`,
		millis(s.now().Add(s.lease)), id, s.owner, deepscript.StatusProcessing)
	if err != nil {
		return false, fmt.Errorf("store: unable to renew the lease of %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// UpdateProgress raises a processing job's progress. It reports false when
// nothing changed (not higher, job gone, no longer processing or no longer
// this node's).
func (s *store) UpdateProgress(ctx context.Context, id string, progress float64) (jobEvent, bool, error) {
	var (
		ev      jobEvent
		changed bool
	)
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE transcriptions SET progress = ?, updated_at = ?
			WHERE id = ? AND status = ? AND lease_owner = ? AND progress < ?`,
			progress, millis(now), id, deepscript.StatusProcessing, s.owner, progress)
		if err != nil {
			return fmt.Errorf("store: unable to update progress of %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ev, err = s.appendEvent(ctx, tx, id, deepscript.EventProgress, now)
		changed = err == nil
		return err
	})
	return ev, changed, err
}

// MarkCompleted stores a job's result and queues its webhook. It returns
// errNotFound when the job was deleted meanwhile.
func (s *store) MarkCompleted(ctx context.Context, id string, result deepscript.Result) (jobEvent, bool, error) {
	body, err := json.Marshal(result)
	if err != nil {
		return jobEvent{}, false, fmt.Errorf("store: unable to encode result: %w", err)
	}
	return s.finish(ctx, id, deepscript.EventCompleted, func(tx *sqldb.Tx, now time.Time) (deepscript.WebhookEvent, error) {
		_, err := tx.ExecContext(ctx, `UPDATE transcriptions SET status = ?, progress = 1, duration = ?,
			result = ?, lease_owner = '', leased_until = 0, updated_at = ? WHERE id = ?`,
			deepscript.StatusCompleted, result.Duration, string(body), millis(now), id)
		return deepscript.WebhookEvent{Event: deepscript.EventCompleted, ID: id, CreatedAt: now, Result: &result}, err
	})
}

// MarkFailed records why a job failed, refunds its charge and queues its
// webhook. It returns errNotFound when the job was deleted meanwhile.
func (s *store) MarkFailed(ctx context.Context, id string, reason deepscript.ErrorBody) (jobEvent, bool, error) {
	return s.finish(ctx, id, deepscript.EventFailed, func(tx *sqldb.Tx, now time.Time) (deepscript.WebhookEvent, error) {
		if err := s.refund(ctx, tx, id); err != nil {
			return deepscript.WebhookEvent{}, err
		}
		_, err := tx.ExecContext(ctx, `UPDATE transcriptions SET status = ?, error_code = ?,
			error_message = ?, lease_owner = '', leased_until = 0, updated_at = ? WHERE id = ?`,
			deepscript.StatusFailed, reason.Code, reason.Message, millis(now), id)
		return deepscript.WebhookEvent{Event: deepscript.EventFailed, ID: id, CreatedAt: now, Error: &reason}, err
	})
}

// finish moves a processing job this node holds to a final state with
// update, appends the final event and queues the webhook to the job's
// webhook_url when that endpoint subscribes to the event. The row is read
// locked and the lease checked, so a job completes once: a node whose
// lease ran out (errLeaseLost) cannot finish a job another node took.
func (s *store) finish(ctx context.Context, id, event string,
	update func(tx *sqldb.Tx, now time.Time) (deepscript.WebhookEvent, error)) (jobEvent, bool, error) {
	var (
		ev     jobEvent
		queued bool
	)
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		var status deepscript.Status
		var webhookURL, owner string
		err := tx.QueryRowContext(ctx, `SELECT status, webhook_url, lease_owner FROM transcriptions
			WHERE id = ?`+s.forUpdate(), id).Scan(&status, &webhookURL, &owner)
		if errors.Is(err, sql.ErrNoRows) {
			return errNotFound
		}
		if err != nil {
			return fmt.Errorf("store: unable to load job %s: %w", id, err)
		}
		if status.Final() || owner != s.owner {
			return errLeaseLost
		}
		now := s.now()
		payload, err := update(tx, now)
		if err != nil {
			return fmt.Errorf("store: unable to mark job %s %s: %w", id, event, err)
		}
		if ev, err = s.appendEvent(ctx, tx, id, event, now); err != nil {
			return err
		}
		if webhookURL == "" {
			return nil
		}
		n, err := s.enqueue(ctx, tx, payload, id, `url = ?`, webhookURL)
		queued = n > 0
		return err
	})
	return ev, queued, err
}

// ReleaseJob hands a job this node gave up on (shutdown) back to the
// queue. Its status stays processing for clients, since status never moves
// back.
func (s *store) ReleaseJob(ctx context.Context, id string) error {
	if _, err := s.writer.ExecContext(ctx, `UPDATE transcriptions SET lease_owner = '', leased_until = 0
		WHERE id = ? AND lease_owner = ?`, id, s.owner); err != nil {
		return fmt.Errorf("store: unable to release job %s: %w", id, err)
	}
	return nil
}

// ReleaseOwned makes the jobs a previous run of this node held runnable
// again at once, rather than when their leases run out; called at start.
// The node's data directory lock guarantees that run is over.
func (s *store) ReleaseOwned(ctx context.Context) error {
	if _, err := s.writer.ExecContext(ctx, `UPDATE transcriptions SET lease_owner = '', leased_until = 0
		WHERE lease_owner = ?`, s.owner); err != nil {
		return fmt.Errorf("store: unable to release interrupted jobs: %w", err)
	}
	return nil
}

// DeleteTranscription removes a job, its events, its idempotency key and
// its undelivered webhooks, refunding an unfinished job. It returns the
// audio path for the caller to remove.
func (s *store) DeleteTranscription(ctx context.Context, id string) (string, error) {
	var audioPath string
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		var status deepscript.Status
		err := tx.QueryRowContext(ctx, `SELECT status, audio_path FROM transcriptions WHERE id = ?`+s.forUpdate(), id).
			Scan(&status, &audioPath)
		if errors.Is(err, sql.ErrNoRows) {
			return errNotFound
		}
		if err != nil {
			return fmt.Errorf("store: unable to load job %s: %w", id, err)
		}
		if !status.Final() {
			if err := s.refund(ctx, tx, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE transcription_id = ? AND state = 'pending'`, id); err != nil {
			return fmt.Errorf("store: unable to drop deliveries of %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM transcriptions WHERE id = ?`, id); err != nil {
			return fmt.Errorf("store: unable to delete job %s: %w", id, err)
		}
		return s.notify(ctx, tx, eventsChannel, id+" 0")
	})
	return audioPath, err
}

// AudioPaths lists the audio file of every job as stored (relative to the
// storage directory, or absolute in rows older than shared storage), to
// sweep orphans at start.
func (s *store) AudioPaths(ctx context.Context) (map[string]bool, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT audio_path FROM transcriptions`)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list audio paths: %w", err)
	}
	defer rows.Close()
	paths := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("store: unable to list audio paths: %w", err)
		}
		paths[p] = true
	}
	return paths, rows.Err()
}

// PruneIdempotencyKeys forgets keys older than their 24 h life.
func (s *store) PruneIdempotencyKeys(ctx context.Context) error {
	if _, err := s.writer.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at <= ?`,
		millis(s.now().Add(-idempotencyTTL))); err != nil {
		return fmt.Errorf("store: unable to prune idempotency keys: %w", err)
	}
	return nil
}
