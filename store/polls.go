package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"scribe/job"
	"scribe/sqldb"
)

// The two ways a job becomes due for a backstop poll, each read through
// one partial index (SQLite's migration 0006): its scheduled time has
// come, or it has never been polled and was submitted before the stale
// cutoff.
const (
	pollDueWhere   = `status IN ('queued', 'processing') AND next_poll_at IS NOT NULL`
	pollFirstWhere = `status IN ('queued', 'processing') AND upstream_id IS NOT NULL AND next_poll_at IS NULL`
)

// pollFrom is the FROM and WHERE of one way to be due, read through
// index. On SQLite, INDEXED BY: without statistics SQLite prefers
// jobs_active, which would walk every active job; it also makes the query
// fail outright if a change ever left the index unusable. PostgreSQL's
// planner has statistics and takes no such hint.
func pollFrom(d sqldb.Dialect, index, where string) string {
	if d == sqldb.SQLite {
		return "jobs INDEXED BY " + index + " WHERE " + where
	}
	return "jobs WHERE " + where
}

// ClaimDuePolls takes up to limit submitted, unfinished jobs whose poll
// is due at now (never polled ones once submitted before staleCutoff),
// counts a poll for each and moves its next poll to next(its polls so
// far), all in one transaction, and returns the jobs as they were. Taking
// them before polling means a poll that finds nothing new writes nothing,
// and a restart keeps every job's schedule.
func (s *Store) ClaimDuePolls(ctx context.Context, now, staleCutoff time.Time, limit int, next func(polls int) time.Time) ([]job.Job, error) {
	var jobs []job.Job
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		// One statement per way, each walking its index with no ORDER BY
		// and stopping at what is left of the limit instead of sorting
		// every due job. On PostgreSQL a job another replica is claiming
		// right now is skipped, not waited for. UTC like every stored time
		// (see ScheduleSubmit).
		claim := func(from, cond string, at time.Time) error {
			rows, err := tx.QueryContext(ctx, "SELECT "+jobColumns+" FROM "+from+" AND "+cond+" LIMIT ?"+
				onPostgres(tx, " FOR UPDATE SKIP LOCKED"), at.UTC(), limit-len(jobs))
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				j, err := scanJob(rows)
				if err != nil {
					return err
				}
				jobs = append(jobs, j)
			}
			return rows.Err()
		}
		if err := claim(pollFrom(tx.Dialect, "jobs_poll_due", pollDueWhere), "next_poll_at <= ?", now); err != nil {
			return err
		}
		if len(jobs) < limit {
			if err := claim(pollFrom(tx.Dialect, "jobs_poll_first", pollFirstWhere), "submitted_at <= ?", staleCutoff); err != nil {
				return err
			}
		}
		// Each connection caches its prepared statements (SQLite's
		// _stmt_cache_size, pgx's statement cache), so this one is
		// prepared once, not once per job.
		for _, j := range jobs {
			if _, err := tx.ExecContext(ctx, "UPDATE jobs SET polls = polls + 1, next_poll_at = ? WHERE id = ?", next(j.Polls).UTC(), j.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: unable to claim due polls: %w", err)
	}
	return jobs, nil
}

// NextPollAt is when the earliest submitted, unfinished job is due for a
// poll (never polled ones staleAfter after submission); zero when none is
// waiting.
func (s *Store) NextPollAt(ctx context.Context, staleAfter time.Duration) (time.Time, error) {
	// The columns themselves, not MIN(): see NextSubmitAt.
	earliest := func(col, from string) (time.Time, error) {
		var t sql.NullTime
		err := s.reader.QueryRowContext(ctx, "SELECT "+col+" FROM "+from+" ORDER BY "+col+" LIMIT 1").Scan(&t)
		if errors.Is(err, sql.ErrNoRows) {
			return time.Time{}, nil
		}
		return t.Time, err
	}
	scheduled, err := earliest("next_poll_at", pollFrom(s.reader.Dialect, "jobs_poll_due", pollDueWhere))
	if err != nil {
		return time.Time{}, fmt.Errorf("store: unable to find the next poll: %w", err)
	}
	submitted, err := earliest("submitted_at", pollFrom(s.reader.Dialect, "jobs_poll_first", pollFirstWhere))
	if err != nil {
		return time.Time{}, fmt.Errorf("store: unable to find the next first poll: %w", err)
	}
	if submitted.IsZero() {
		return scheduled, nil
	}
	first := submitted.Add(staleAfter)
	if scheduled.IsZero() || first.Before(scheduled) {
		return first, nil
	}
	return scheduled, nil
}

// SchedulePoll moves a job's next backstop poll to at.
func (s *Store) SchedulePoll(ctx context.Context, jobID string, at time.Time) error {
	_, err := s.writer.ExecContext(ctx, "UPDATE jobs SET next_poll_at = ? WHERE id = ?", at.UTC(), jobID)
	if err != nil {
		return fmt.Errorf("store: unable to schedule a poll of %s: %w", jobID, err)
	}
	return nil
}

// Changes is how many rows the store has inserted, updated or deleted
// since it opened (SQLite's total_changes on its one writer connection),
// so a test can check that work which should write nothing does not.
// PostgreSQL has no such exact count (its statistics views lag behind by
// up to a second), so there it is an error.
func (s *Store) Changes(ctx context.Context) (int64, error) {
	if s.writer.Dialect != sqldb.SQLite {
		return 0, errors.New("store: counting changes needs SQLite's total_changes")
	}
	var n int64
	if err := s.writer.QueryRowContext(ctx, "SELECT total_changes()").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: unable to count changes: %w", err)
	}
	return n, nil
}
