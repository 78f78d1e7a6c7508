package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"scribe/job"
	"scribe/sqldb"
)

// jobColumns are a job's columns in scanJob's order; its tags come with it,
// joined by commas (which no tag holds).
const jobColumns = `id, user_id, filename, name,
	(SELECT string_agg(tag, ',') FROM job_tags WHERE job_id = jobs.id), audio_path, size_bytes, duration, attempt,
	upstream_id, submit_tries, next_submit_at, submitted_at, status, progress, error,
	completed_via, upstream_done_at, finished_at, polls, seq, revision_id, created_at, updated_at`

type rowScanner interface{ Scan(...any) error }

func scanJob(r rowScanner) (job.Job, error) {
	var j job.Job
	var upstream sql.NullString
	var next, submitted, done, finished sql.NullTime
	var revision sql.NullInt64
	var tags sql.NullString
	err := r.Scan(&j.ID, &j.UserID, &j.Filename, &j.Name, &tags, &j.AudioPath, &j.SizeBytes, &j.Duration, &j.Attempt,
		&upstream, &j.SubmitTries, &next, &submitted, &j.Status, &j.Progress, &j.Error,
		&j.CompletedVia, &done, &finished, &j.Polls, &j.Seq, &revision, &j.CreatedAt, &j.UpdatedAt)
	j.UpstreamID, j.NextSubmitAt, j.SubmittedAt, j.RevisionID = upstream.String, next.Time, submitted.Time, revision.Int64
	j.UpstreamDone, j.FinishedAt = done.Time, finished.Time
	if tags.String != "" {
		j.Tags = strings.Split(tags.String, ",")
		slices.Sort(j.Tags)
	}
	return j, err
}

func (s *Store) queryJobs(ctx context.Context, q string, args ...any) ([]job.Job, error) {
	return queryJobsOn(ctx, s.reader, q, args...)
}

func queryJobsOn(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q string, args ...any) ([]job.Job, error) {
	rows, err := db.QueryContext(ctx, "SELECT "+jobColumns+" FROM jobs "+q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list jobs: %w", err)
	}
	defer rows.Close()
	var jobs []job.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("store: unable to read job: %w", err)
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

func jobByID(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, where string, args ...any) (job.Job, error) {
	j, err := scanJob(q.QueryRowContext(ctx, "SELECT "+jobColumns+" FROM jobs WHERE "+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return job.Job{}, job.ErrNotFound
	}
	if err != nil {
		return job.Job{}, fmt.Errorf("store: unable to load job: %w", err)
	}
	return j, nil
}

// CreateJob records a new upload, queued for submission now.
func (s *Store) CreateJob(ctx context.Context, j job.Job) (job.Job, error) {
	now := s.Now()
	j.Status, j.CreatedAt, j.UpdatedAt, j.NextSubmitAt = job.StatusQueued, now, now, now
	j.Name = j.Filename
	err := s.inChangeTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if j.Seq, err = bump(ctx, tx, "seq"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO jobs (id, user_id, filename, name, audio_path, size_bytes, duration,
			status, next_submit_at, seq, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			j.ID, j.UserID, j.Filename, j.Name, j.AudioPath, j.SizeBytes, j.Duration, j.Status, j.NextSubmitAt, j.Seq, now, now)
		if err != nil {
			return err
		}
		return reindex(ctx, tx, j.ID)
	})
	if err != nil {
		return job.Job{}, fmt.Errorf("store: unable to create job: %w", err)
	}
	return j, nil
}

// Job loads a job that belongs to userID; job.ErrNotFound otherwise.
func (s *Store) Job(ctx context.Context, userID int64, id string) (job.Job, error) {
	return jobByID(ctx, s.reader, "id = ? AND user_id = ?", id, userID)
}

// JobByUpstreamID loads the job the upstream knows as upstreamID.
func (s *Store) JobByUpstreamID(ctx context.Context, upstreamID string) (job.Job, error) {
	return jobByID(ctx, s.reader, "upstream_id = ?", upstreamID)
}

// JobAwaitingUpstreamID loads the job whose current submission has key
// (see job.Job.SubmitKey) and whose upstream id is not yet recorded.
func (s *Store) JobAwaitingUpstreamID(ctx context.Context, key string) (job.Job, error) {
	j, err := jobByID(ctx, s.reader, "id = ? AND upstream_id IS NULL", job.IDFromSubmitKey(key))
	if err == nil && j.SubmitKey() != key {
		return job.Job{}, job.ErrNotFound
	}
	return j, err
}

// JobsForUser lists a user's most recent jobs, newest first.
func (s *Store) JobsForUser(ctx context.Context, userID int64, limit int) ([]job.Job, error) {
	return s.queryJobs(ctx, "WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?", userID, limit)
}

// JobsChangedSince lists a user's jobs whose last change is after seq, in
// the order they changed, up to limit.
func (s *Store) JobsChangedSince(ctx context.Context, userID, seq int64, limit int) ([]job.Job, error) {
	return s.queryJobs(ctx, "WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?", userID, seq, limit)
}

// ClaimDueSubmissions takes up to limit jobs waiting to be sent upstream
// whose next attempt is due, earliest first, for this replica: each one's
// next attempt moves lease(job) ahead (lease is called in that order), so no other replica submits it
// meanwhile, and a replica that dies mid-submit leaves it to the others
// once the lease has run out.
func (s *Store) ClaimDueSubmissions(ctx context.Context, limit int, lease func(job.Job) time.Duration) ([]job.Job, error) {
	var jobs []job.Job
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		now := s.Now()
		var err error
		// On PostgreSQL a job another replica is claiming right now is
		// skipped, not waited for.
		jobs, err = queryJobsOn(ctx, tx, `WHERE upstream_id IS NULL AND status = 'queued' AND next_submit_at <= ?
			ORDER BY next_submit_at LIMIT ?`+onPostgres(tx, " FOR UPDATE SKIP LOCKED"), now, limit)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if _, err := tx.ExecContext(ctx, "UPDATE jobs SET next_submit_at = ?, submit_claimed_by = ? WHERE id = ?",
				now.Add(lease(j)), s.Replica, j.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: unable to claim due submissions: %w", err)
	}
	return jobs, nil
}

// ReleaseSubmissions makes the submissions this replica had claimed due
// now, in the order of their uploads: at start, when none of them can
// still be under way.
func (s *Store) ReleaseSubmissions(ctx context.Context) error {
	_, err := s.writer.ExecContext(ctx, `UPDATE jobs SET next_submit_at = created_at, submit_claimed_by = NULL
		WHERE submit_claimed_by = ? AND upstream_id IS NULL AND status = 'queued'`, s.Replica)
	if err != nil {
		return fmt.Errorf("store: unable to release submissions: %w", err)
	}
	return nil
}

// NextSubmitAt is when the earliest waiting submission is due; zero when none waits.
func (s *Store) NextSubmitAt(ctx context.Context) (time.Time, error) {
	// The column itself, not MIN(next_submit_at): SQLite gives an aggregate
	// no declared type, so the driver would hand back text that does not
	// scan into a time.
	var t sql.NullTime
	err := s.reader.QueryRowContext(ctx, `SELECT next_submit_at FROM jobs
		WHERE upstream_id IS NULL AND status = 'queued' AND next_submit_at IS NOT NULL
		ORDER BY next_submit_at LIMIT 1`).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: unable to find next submission: %w", err)
	}
	return t.Time, nil
}

// ActiveJobs lists submitted jobs that are not final, oldest first.
func (s *Store) ActiveJobs(ctx context.Context) ([]job.Job, error) {
	return s.queryJobs(ctx, `WHERE upstream_id IS NOT NULL AND status IN ('queued', 'processing') ORDER BY submitted_at`)
}

// MarkSubmitted records the upstream's id for a job that has none yet.
func (s *Store) MarkSubmitted(ctx context.Context, jobID, upstreamID string) (job.Job, error) {
	var j job.Job
	err := s.inChangeTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		// Only the first to learn the id records it (the submitter, or a
		// webhook adopting the job first); a second is a no-op.
		j, err = changeJob(ctx, tx, s.Now(), jobID, "upstream_id = ?, submitted_at = ?, next_submit_at = NULL, next_poll_at = NULL",
			" AND upstream_id IS NULL", upstreamID, s.Now())
		return err
	})
	if err != nil {
		return job.Job{}, fmt.Errorf("store: unable to mark job %s submitted: %w", jobID, err)
	}
	return j, nil
}

// ScheduleSubmit records a failed submit attempt and when to try again.
func (s *Store) ScheduleSubmit(ctx context.Context, jobID string, at time.Time) error {
	// UTC like every stored time: the driver writes a time as text with
	// its zone, and SQLite compares that text.
	_, err := s.writer.ExecContext(ctx, `UPDATE jobs SET submit_tries = submit_tries + 1, next_submit_at = ?,
		submit_claimed_by = NULL WHERE id = ? AND upstream_id IS NULL`, at.UTC(), jobID)
	if err != nil {
		return fmt.Errorf("store: unable to reschedule job %s: %w", jobID, err)
	}
	return nil
}

// FailUnsubmitted marks a job the upstream refused as failed with a message
// for its owner, and writes the event to the owner's webhook outbox.
func (s *Store) FailUnsubmitted(ctx context.Context, jobID, message string) (job.Job, error) {
	var j job.Job
	err := s.inChangeTx(ctx, func(tx *sqldb.Tx) error {
		prev, err := jobByID(ctx, tx, "id = ?"+forUpdate(tx), jobID)
		if err != nil {
			return err
		}
		j, err = changeJob(ctx, tx, s.Now(), jobID, "status = 'failed', error = ?, next_submit_at = NULL, finished_at = ?",
			" AND upstream_id IS NULL AND status = 'queued'", message, s.Now())
		if err != nil {
			return err
		}
		return enqueueJobEvent(ctx, tx, s.Now(), prev, j)
	})
	if err != nil {
		return job.Job{}, fmt.Errorf("store: unable to fail job %s: %w", jobID, err)
	}
	return j, nil
}

// changeJob updates one job with the assignments in set when it meets the
// extra condition cond; if it changed, stamps it with the next change
// sequence number so browser streams see it. It returns the job as it is now.
func changeJob(ctx context.Context, tx *sqldb.Tx, now time.Time, jobID, set, cond string, args ...any) (job.Job, error) {
	args = append(args, now, jobID)
	res, err := tx.ExecContext(ctx, "UPDATE jobs SET "+set+", updated_at = ? WHERE id = ?"+cond, args...)
	if err != nil {
		return job.Job{}, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return job.Job{}, err
	} else if n > 0 {
		seq, err := bump(ctx, tx, "seq")
		if err != nil {
			return job.Job{}, err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE jobs SET seq = ? WHERE id = ?", seq, jobID); err != nil {
			return job.Job{}, err
		}
	}
	return jobByID(ctx, tx, "id = ?", jobID)
}

// DeleteJob removes a user's job and returns what it was, stamped with
// the change sequence number of its deletion.
func (s *Store) DeleteJob(ctx context.Context, userID int64, id string) (job.Job, error) {
	var j job.Job
	err := s.inChangeTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if j, err = jobByID(ctx, tx, "id = ? AND user_id = ?"+forUpdate(tx), id, userID); err != nil {
			return err
		}
		// The deletion is a change too: browser streams carry it with this seq.
		if j.Seq, err = bump(ctx, tx, "seq"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM jobs WHERE id = ?", id)
		return err
	})
	if err != nil && !errors.Is(err, job.ErrNotFound) {
		err = fmt.Errorf("store: unable to delete job %s: %w", id, err)
	}
	return j, err
}

// RetryJob sends a failed job back to the submission queue as a new attempt.
func (s *Store) RetryJob(ctx context.Context, userID int64, id string) (job.Job, error) {
	var j job.Job
	err := s.inChangeTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if j, err = jobByID(ctx, tx, "id = ? AND user_id = ?"+forUpdate(tx), id, userID); err != nil {
			return err
		}
		if j.Status != job.StatusFailed {
			return job.ErrConflict
		}
		j, err = changeJob(ctx, tx, s.Now(), id, `attempt = attempt + 1, upstream_id = NULL, submit_tries = 0,
			next_submit_at = ?, submitted_at = NULL, status = 'queued', progress = 0, error = '',
			completed_via = '', upstream_done_at = NULL, finished_at = NULL, polls = 0`, "", s.Now())
		return err
	})
	if err != nil && !errors.Is(err, job.ErrNotFound) && !errors.Is(err, job.ErrConflict) {
		err = fmt.Errorf("store: unable to retry job %s: %w", id, err)
	}
	return j, err
}

// AudioPaths is the set of every job's audio file path.
func (s *Store) AudioPaths(ctx context.Context) (map[string]bool, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT audio_path FROM jobs")
	if err != nil {
		return nil, fmt.Errorf("store: unable to list audio paths: %w", err)
	}
	defer rows.Close()
	paths := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("store: unable to read audio path: %w", err)
		}
		paths[p] = true
	}
	return paths, rows.Err()
}

// Usage is what a user has asked of the server lately.
type Usage struct {
	Unfinished    int     // jobs queued or processing
	RecentSeconds float64 // audio uploaded since the time asked about
}

// Usage counts userID's unfinished jobs and the audio seconds of the jobs
// created since since.
func (s *Store) Usage(ctx context.Context, userID int64, since time.Time) (Usage, error) {
	var u Usage
	// UTC like every stored time (see ScheduleSubmit).
	err := s.reader.QueryRowContext(ctx, `SELECT
		COUNT(*) FILTER (WHERE status IN ('queued', 'processing')),
		COALESCE(SUM(duration) FILTER (WHERE created_at >= ?), 0)
		FROM jobs WHERE user_id = ?`, since.UTC(), userID).Scan(&u.Unfinished, &u.RecentSeconds)
	if err != nil {
		return Usage{}, fmt.Errorf("store: unable to read usage of user %d: %w", userID, err)
	}
	return u, nil
}
