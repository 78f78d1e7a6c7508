package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"scribe/job"
	"scribe/sqldb"
)

// errNoTranscript is a save or restore on a job that has no transcript yet.
var errNoTranscript = job.Errorf(job.CodeConflict, "The transcript is not ready yet.")

const revisionColumns = `r.id, r.job_id, r.source, COALESCE(r.author_id, 0), COALESCE(r.restored_from, 0), r.created_at`

func scanRevision(row rowScanner, extra ...any) (job.Revision, error) {
	var rev job.Revision
	err := row.Scan(append([]any{&rev.ID, &rev.JobID, &rev.Source, &rev.AuthorID, &rev.RestoredFrom, &rev.CreatedAt}, extra...)...)
	return rev, err
}

// CurrentRevision loads the revision of a job's transcript that its page
// and downloads show, with its result; job.ErrNotFound when it has none.
func (s *Store) CurrentRevision(ctx context.Context, jobID string) (job.Revision, error) {
	return currentRevision(ctx, s.reader, jobID)
}

// Result loads a completed job's current transcript; job.ErrNotFound when
// it has none.
func (s *Store) Result(ctx context.Context, jobID string) (*job.Result, error) {
	rev, err := s.CurrentRevision(ctx, jobID)
	return rev.Result, err
}

func currentRevision(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, jobID string) (job.Revision, error) {
	var raw string
	rev, err := scanRevision(q.QueryRowContext(ctx, `SELECT `+revisionColumns+`, r.result_json
		FROM jobs j JOIN transcript_revisions r ON r.id = j.revision_id WHERE j.id = ?`, jobID), &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return job.Revision{}, job.ErrNotFound
	}
	if err != nil {
		return job.Revision{}, fmt.Errorf("store: unable to load transcript of %s: %w", jobID, err)
	}
	if err := json.Unmarshal([]byte(raw), &rev.Result); err != nil {
		return job.Revision{}, fmt.Errorf("store: unable to decode transcript of %s: %w", jobID, err)
	}
	return rev, nil
}

// Revisions lists a job's revisions, newest first, without their results.
func (s *Store) Revisions(ctx context.Context, jobID string) ([]job.Revision, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+revisionColumns+` FROM transcript_revisions r
		WHERE r.job_id = ? ORDER BY r.id DESC`, jobID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list revisions of %s: %w", jobID, err)
	}
	defer rows.Close()
	var revs []job.Revision
	for rows.Next() {
		rev, err := scanRevision(rows)
		if err != nil {
			return nil, fmt.Errorf("store: unable to read revision of %s: %w", jobID, err)
		}
		revs = append(revs, rev)
	}
	return revs, rows.Err()
}

// SaveRevision records an owner's edit of a job's transcript as its new
// current revision, provided base is still the current one: job.ErrStale
// otherwise, and nothing changes. job.ErrNotFound when the job is not the
// user's; a conflict when it has no transcript yet.
func (s *Store) SaveRevision(ctx context.Context, userID int64, jobID string, base int64, r *job.Result) (job.Job, job.Revision, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return job.Job{}, job.Revision{}, fmt.Errorf("store: unable to encode transcript: %w", err)
	}
	rev := job.Revision{JobID: jobID, Source: job.SourceEdit, AuthorID: userID, Result: r}
	j, rev, err := s.addRevision(ctx, userID, rev, func(j job.Job) error {
		if j.RevisionID != base {
			return job.ErrStale
		}
		return nil
	}, raw)
	if err != nil && job.ErrorCode(err) == job.CodeInternal {
		err = fmt.Errorf("store: unable to save transcript of %s: %w", jobID, err)
	}
	return j, rev, err
}

// RestoreRevision makes a copy of one of a job's revisions its new current
// revision (returned without its result); job.ErrNotFound when the job is
// not the user's or has no such revision.
func (s *Store) RestoreRevision(ctx context.Context, userID int64, jobID string, revID int64) (job.Job, job.Revision, error) {
	rev := job.Revision{JobID: jobID, Source: job.SourceRestore, AuthorID: userID, RestoredFrom: revID}
	j, rev, err := s.addRevision(ctx, userID, rev, func(job.Job) error { return nil }, nil)
	if err != nil && job.ErrorCode(err) == job.CodeInternal {
		err = fmt.Errorf("store: unable to restore revision %d of %s: %w", revID, jobID, err)
	}
	return j, rev, err
}

// addRevision is SaveRevision and RestoreRevision: in one transaction it
// loads the user's job, runs check, and inserts rev as the job's current
// revision, with the result raw or, for a restore, that of the revision
// it copies.
func (s *Store) addRevision(ctx context.Context, userID int64, rev job.Revision, check func(job.Job) error, raw []byte) (job.Job, job.Revision, error) {
	var j job.Job
	err := s.inChangeTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if j, err = jobByID(ctx, tx, "id = ? AND user_id = ?"+forUpdate(tx), rev.JobID, userID); err != nil {
			return err
		}
		if j.RevisionID == 0 {
			return errNoTranscript
		}
		if err := check(j); err != nil {
			return err
		}
		if rev.RestoredFrom != 0 {
			err := tx.QueryRowContext(ctx, "SELECT result_json FROM transcript_revisions WHERE id = ? AND job_id = ?",
				rev.RestoredFrom, rev.JobID).Scan(&raw)
			if errors.Is(err, sql.ErrNoRows) {
				return job.ErrNotFound
			}
			if err != nil {
				return err
			}
		}
		rev.CreatedAt = s.Now()
		if rev.ID, err = insertRevision(ctx, tx, rev, raw); err != nil {
			return err
		}
		j, err = setCurrent(ctx, tx, j.ID, rev.ID)
		return err
	})
	if err != nil {
		return job.Job{}, job.Revision{}, err
	}
	return j, rev, nil
}

func insertRevision(ctx context.Context, tx *sqldb.Tx, rev job.Revision, raw []byte) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO transcript_revisions (job_id, source, author_id, restored_from,
		created_at, result_json) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		rev.JobID, rev.Source, nullInt(rev.AuthorID), nullInt(rev.RestoredFrom), rev.CreatedAt, string(raw)).Scan(&id)
	return id, err
}

// setCurrent makes revID the job's current revision and stamps the job
// with the next change sequence number, so browser streams carry the
// change. updated_at stays: it dates the transcription itself (the page
// measures "took" to it), not its later edits.
func setCurrent(ctx context.Context, tx *sqldb.Tx, jobID string, revID int64) (job.Job, error) {
	seq, err := bump(ctx, tx, "seq")
	if err != nil {
		return job.Job{}, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE jobs SET revision_id = ?, seq = ? WHERE id = ?", revID, seq, jobID); err != nil {
		return job.Job{}, err
	}
	if err := reindex(ctx, tx, jobID); err != nil {
		return job.Job{}, err
	}
	return jobByID(ctx, tx, "id = ?", jobID)
}

// keepLateResult records a result that arrives after its job completed (a
// webhook after the event stream's fetch, a poll, a redelivery) as an
// upstream revision the owner may choose, unless an upstream revision of
// the job already says the same, which is the usual case. It never becomes
// current: the forward-only rule keeps the first final state, and news
// must not replace what the owner reads or has edited.
func keepLateResult(ctx context.Context, tx *sqldb.Tx, jobID string, raw []byte, now time.Time) error {
	var known bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM transcript_revisions
		WHERE job_id = ? AND source = 'upstream' AND result_json = ?)`, jobID, string(raw)).Scan(&known)
	if err != nil || known {
		return err
	}
	_, err = insertRevision(ctx, tx, job.Revision{JobID: jobID, Source: job.SourceUpstream, CreatedAt: now}, raw)
	return err
}
