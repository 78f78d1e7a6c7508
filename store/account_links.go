package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"scribe/job"
	"scribe/sqldb"
)

// How long the links an admin hands out work.
const (
	InvitationFor = 7 * 24 * time.Hour
	ResetLinkFor  = 24 * time.Hour
)

// Link is a single-use invitation or password reset. Its Token is only in
// the link handed out; the database keeps a hash of it.
type Link struct {
	Token     string
	ExpiresAt time.Time
}

// ErrLinkInvalid answers a link that is unknown, used or expired.
var ErrLinkInvalid = job.Errorf(job.CodeNotFound, "This link has expired or was already used. Ask an admin for a new one.")

// CreateInvitation makes a sign-up invitation from an admin.
func (s *Store) CreateInvitation(ctx context.Context, byUserID int64) (Link, error) {
	return s.createLink(ctx, "invite", byUserID, nil, InvitationFor)
}

// CreateResetLink makes a password reset link for an account; earlier
// reset links for it stop working.
func (s *Store) CreateResetLink(ctx context.Context, byUserID, forUserID int64) (Link, error) {
	return s.createLink(ctx, "reset", byUserID, &forUserID, ResetLinkFor)
}

func (s *Store) createLink(ctx context.Context, kind string, byUserID int64, forUserID *int64, ttl time.Duration) (Link, error) {
	now := s.Now().UTC()
	l := Link{Token: rand.Text(), ExpiresAt: now.Add(ttl)}
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		// Expired links are dropped here rather than by a worker: only
		// admins make links, so the table stays small.
		if _, err := tx.ExecContext(ctx, "DELETE FROM account_links WHERE expires_at <= ?", now); err != nil {
			return err
		}
		if forUserID != nil {
			var exists bool
			if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)", *forUserID).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return job.ErrNotFound
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM account_links WHERE kind = ? AND user_id = ?", kind, *forUserID); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO account_links (token_hash, kind, user_id, created_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, tokenHash(l.Token), kind, forUserID, byUserID, now, l.ExpiresAt)
		return err
	})
	if err != nil && job.ErrorCode(err) == job.CodeInternal {
		return Link{}, fmt.Errorf("store: unable to create %s link: %w", kind, err)
	}
	return l, err
}

// CheckInvitation reports ErrLinkInvalid unless token is a usable invitation.
func (s *Store) CheckInvitation(ctx context.Context, token string) error {
	var ok bool
	err := s.reader.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM account_links
		WHERE token_hash = ? AND kind = 'invite' AND expires_at > ?)`, tokenHash(token), s.Now().UTC()).Scan(&ok)
	if err != nil {
		return fmt.Errorf("store: unable to check invitation: %w", err)
	}
	if !ok {
		return ErrLinkInvalid
	}
	return nil
}

// CreateInvitedUser adds an account with an invitation, which it uses up in
// the same transaction; ErrLinkInvalid for an unusable invitation and
// job.ErrConflict for a taken email (the invitation then stays usable).
func (s *Store) CreateInvitedUser(ctx context.Context, token, email string, passwordHash []byte) (User, error) {
	var u User
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := useLink(ctx, tx, "invite", token, s.Now().UTC()); err != nil {
			return err
		}
		var err error
		u, err = s.insertUser(ctx, tx, email, passwordHash)
		return err
	})
	return u, err
}

// ResetLinkUser is the account a usable reset link is for.
func (s *Store) ResetLinkUser(ctx context.Context, token string) (User, error) {
	u, err := s.user(ctx, `id = (SELECT user_id FROM account_links
		WHERE token_hash = ? AND kind = 'reset' AND expires_at > ?)`, tokenHash(token), s.Now().UTC())
	if errors.Is(err, job.ErrNotFound) {
		return User{}, ErrLinkInvalid
	}
	return u, err
}

// ResetPassword sets the password of a reset link's account, using up the
// link, and revokes the account's sessions.
func (s *Store) ResetPassword(ctx context.Context, token string, passwordHash []byte) (User, error) {
	var u User
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		userID, err := useLink(ctx, tx, "reset", token, s.Now().UTC())
		if err != nil {
			return err
		}
		u, err = setPassword(ctx, tx, userID.Int64, passwordHash)
		return err
	})
	return u, err
}

// useLink deletes a usable link and returns the account it is for.
func useLink(ctx context.Context, tx *sqldb.Tx, kind, token string, now time.Time) (sql.NullInt64, error) {
	var userID sql.NullInt64
	err := tx.QueryRowContext(ctx, `DELETE FROM account_links WHERE token_hash = ? AND kind = ? AND expires_at > ?
		RETURNING user_id`, tokenHash(token), kind, now).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return userID, ErrLinkInvalid
	}
	if err != nil {
		return userID, fmt.Errorf("store: unable to use %s link: %w", kind, err)
	}
	return userID, nil
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
