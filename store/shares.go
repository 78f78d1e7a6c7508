package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"scribe/job"
	"scribe/random"
	"scribe/sqldb"
)

// Share is a job's read-only link. Its Token is only in the link handed
// out; the database keeps a hash of it.
type Share struct {
	Token     string // empty when loaded back: only its hash is kept
	ExpiresAt time.Time
}

// errNotShareable is a share of a job without a transcript.
var errNotShareable = job.Errorf(job.CodeConflict, "The transcript is not ready yet, so there is nothing to share.")

// CreateShare makes a read-only link to the user's completed job that
// works until ttl from now, replacing (and so revoking) the job's earlier
// link. job.ErrNotFound when the job is not the user's.
func (s *Store) CreateShare(ctx context.Context, userID int64, jobID string, ttl time.Duration) (Share, error) {
	now := s.Now().UTC()
	// 128 random bits: a link cannot be guessed.
	sh := Share{Token: random.Hex(16), ExpiresAt: now.Add(ttl)}
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		j, err := jobByID(ctx, tx, "id = ? AND user_id = ?", jobID, userID)
		if err != nil {
			return err
		}
		if j.RevisionID == 0 {
			return errNotShareable
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO job_shares (token_hash, job_id, created_at, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (job_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at,
			expires_at = excluded.expires_at`, tokenHash(sh.Token), jobID, now, sh.ExpiresAt)
		return err
	})
	if err != nil && job.ErrorCode(err) == job.CodeInternal {
		err = fmt.Errorf("store: unable to share job %s: %w", jobID, err)
	}
	if err != nil {
		return Share{}, err
	}
	return sh, nil
}

// RevokeShare ends the user's job's link, if it has one; job.ErrNotFound
// when the job is not the user's.
func (s *Store) RevokeShare(ctx context.Context, userID int64, jobID string) error {
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := jobByID(ctx, tx, "id = ? AND user_id = ?", jobID, userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM job_shares WHERE job_id = ?", jobID)
		return err
	})
	if err != nil && !errors.Is(err, job.ErrNotFound) {
		err = fmt.Errorf("store: unable to revoke the link to job %s: %w", jobID, err)
	}
	return err
}

// ActiveShare is the job's link that still works, for its owner's page;
// false when it has none. The caller has checked the job is the user's.
func (s *Store) ActiveShare(ctx context.Context, jobID string) (Share, bool, error) {
	var sh Share
	err := s.reader.QueryRowContext(ctx, "SELECT expires_at FROM job_shares WHERE job_id = ? AND expires_at > ?",
		jobID, s.Now().UTC()).Scan(&sh.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Share{}, false, nil
	}
	if err != nil {
		return Share{}, false, fmt.Errorf("store: unable to load the link to job %s: %w", jobID, err)
	}
	return sh, true, nil
}

// SharedJob is the job a working link names; job.ErrNotFound for an
// unknown, revoked or expired token.
func (s *Store) SharedJob(ctx context.Context, token string) (job.Job, error) {
	return jobByID(ctx, s.reader, `id = (SELECT job_id FROM job_shares WHERE token_hash = ? AND expires_at > ?)
		AND revision_id IS NOT NULL`, tokenHash(token), s.Now().UTC())
}
