package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"scribe/job"
	"scribe/sqldb"
)

// User is an account.
type User struct {
	ID           int64
	Email        string // as typed at sign-up
	PasswordHash []byte
	CreatedAt    time.Time
	// SessionVersion is stamped into session cookies; bumping it revokes them.
	SessionVersion int64
	Admin          bool // the first account
	Disabled       bool // may not sign in; its sessions do not work
}

// ErrInvitationRequired answers a sign-up without an invitation once the
// first account exists.
var ErrInvitationRequired = job.Errorf(job.CodeForbidden, "Sign-up here is by invitation: ask an admin for a link.")

// FoldEmail is the form accounts are found and kept unique by: NFKC and
// Unicode case folding (the toNFKC_Casefold of Unicode's caseless
// matching), so emails that differ only in case or in compatibility forms
// are one account.
func FoldEmail(email string) string {
	return norm.NFKC.String(cases.Fold().String(norm.NFD.String(email)))
}

// userColumns are what scanUser reads, in order.
const userColumns = "id, email, password_hash, created_at, session_version, is_admin, disabled_at IS NOT NULL"

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.CreatedAt, &u.SessionVersion, &u.Admin, &u.Disabled)
	return u, err
}

// CreateUser adds an account; job.ErrConflict when the email is taken. The
// first account becomes the admin, decided in the insert itself so two
// concurrent first sign-ups cannot both be admins.
func (s *Store) CreateUser(ctx context.Context, email string, passwordHash []byte) (User, error) {
	var u User
	err := s.inTx(ctx, func(tx *sqldb.Tx) (err error) {
		u, err = s.insertUser(ctx, tx, email, passwordHash)
		return err
	})
	return u, err
}

// CreateFirstUser adds the first account, the admin;
// ErrInvitationRequired once any account exists.
func (s *Store) CreateFirstUser(ctx context.Context, email string, passwordHash []byte) (User, error) {
	var u User
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		if err := lockUsers(ctx, tx); err != nil {
			return fmt.Errorf("store: unable to count users: %w", err)
		}
		var exists bool
		if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM users)").Scan(&exists); err != nil {
			return fmt.Errorf("store: unable to count users: %w", err)
		}
		if exists {
			return ErrInvitationRequired
		}
		var err error
		u, err = s.insertUser(ctx, tx, email, passwordHash)
		return err
	})
	return u, err
}

func (s *Store) insertUser(ctx context.Context, tx *sqldb.Tx, email string, passwordHash []byte) (User, error) {
	if err := lockUsers(ctx, tx); err != nil {
		return User{}, fmt.Errorf("store: unable to create user: %w", err)
	}
	row := tx.QueryRowContext(ctx, `INSERT INTO users (email, email_key, password_hash, created_at, is_admin)
		VALUES (?, ?, ?, ?, CASE WHEN EXISTS (SELECT 1 FROM users) THEN 0 ELSE 1 END) RETURNING `+userColumns,
		email, FoldEmail(email), passwordHash, s.Now().UTC())
	u, err := scanUser(row)
	if sqldb.IsUniqueViolation(err) {
		return User{}, job.ErrConflict
	}
	if err != nil {
		return User{}, fmt.Errorf("store: unable to create user: %w", err)
	}
	return u, nil
}

// lockUsers makes the transaction the only one adding accounts until it
// ends, so "is this the first account?" and "is this key free?" stay true
// until it inserts. PostgreSQL needs it at READ COMMITTED; sign-ups are
// rare, and reads go on. SQLite's one writer serialises them already.
func lockUsers(ctx context.Context, tx *sqldb.Tx) error {
	if tx.Dialect != sqldb.Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, "LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
	return err
}

// UserByEmail finds an account by its folded email (see FoldEmail).
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	// An older account whose key collided (see foldEmails) is found by its
	// email as before, ahead of the account that holds the key.
	return s.user(ctx, "email_key = ?1 OR (email_key IS NULL AND email = ?2) ORDER BY email = ?2 DESC, id LIMIT 1",
		FoldEmail(email), email)
}

// UserByID finds an account by id.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	return s.user(ctx, "id = ?", id)
}

func (s *Store) user(ctx context.Context, where string, args ...any) (User, error) {
	u, err := scanUser(s.reader.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE "+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, job.ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("store: unable to load user: %w", err)
	}
	return u, nil
}

// HasUsers reports whether any account exists.
func (s *Store) HasUsers(ctx context.Context) (bool, error) {
	var exists bool
	if err := s.reader.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM users)").Scan(&exists); err != nil {
		return false, fmt.Errorf("store: unable to count users: %w", err)
	}
	return exists, nil
}

// Users lists up to limit accounts, oldest first.
func (s *Store) Users(ctx context.Context, limit int) ([]User, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT "+userColumns+" FROM users ORDER BY id LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: unable to list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// RevokeSessions invalidates every session issued to a user so far.
func (s *Store) RevokeSessions(ctx context.Context, userID int64) error {
	if _, err := s.writer.ExecContext(ctx, "UPDATE users SET session_version = session_version + 1 WHERE id = ?", userID); err != nil {
		return fmt.Errorf("store: unable to revoke sessions of user %d: %w", userID, err)
	}
	return nil
}

// SetDisabled disables or enables an account. Disabling also revokes its
// sessions, so enabling it again does not bring old cookies back.
func (s *Store) SetDisabled(ctx context.Context, userID int64, disabled bool) error {
	q := "UPDATE users SET disabled_at = NULL WHERE id = ?"
	args := []any{userID}
	if disabled {
		q = "UPDATE users SET disabled_at = coalesce(disabled_at, ?), session_version = session_version + 1 WHERE id = ?"
		args = []any{s.Now().UTC(), userID}
	}
	res, err := s.writer.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: unable to set user %d disabled=%t: %w", userID, disabled, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return job.ErrNotFound
	}
	return nil
}

// ChangePassword sets a new password hash and revokes every session issued
// so far; it returns the account with its new session version.
func (s *Store) ChangePassword(ctx context.Context, userID int64, passwordHash []byte) (User, error) {
	var u User
	err := s.inTx(ctx, func(tx *sqldb.Tx) (err error) {
		u, err = setPassword(ctx, tx, userID, passwordHash)
		return err
	})
	return u, err
}

func setPassword(ctx context.Context, tx *sqldb.Tx, userID int64, passwordHash []byte) (User, error) {
	u, err := scanUser(tx.QueryRowContext(ctx, `UPDATE users SET password_hash = ?, session_version = session_version + 1
		WHERE id = ? RETURNING `+userColumns, passwordHash, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, job.ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("store: unable to set the password of user %d: %w", userID, err)
	}
	return u, nil
}

// foldEmails fills email_key for accounts made before it existed (see
// migration 0005). An account whose key another already has keeps none and
// is found by its email as before (ignoring ASCII case only).
func (s *Store) foldEmails(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sqldb.Tx) error {
		if err := lockUsers(ctx, tx); err != nil {
			return fmt.Errorf("store: unable to fold emails: %w", err)
		}
		rows, err := tx.QueryContext(ctx, "SELECT id, email FROM users WHERE email_key IS NULL ORDER BY id")
		if err != nil {
			return fmt.Errorf("store: unable to fold emails: %w", err)
		}
		type account struct {
			id    int64
			email string
		}
		var older []account // oldest first, so the oldest of a collision keeps the key
		for rows.Next() {
			var a account
			if err := rows.Scan(&a.id, &a.email); err != nil {
				rows.Close()
				return fmt.Errorf("store: unable to fold emails: %w", err)
			}
			older = append(older, a)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("store: unable to fold emails: %w", err)
		}
		for _, a := range older {
			_, err := tx.ExecContext(ctx, `UPDATE users SET email_key = ?1 WHERE id = ?2
				AND NOT EXISTS (SELECT 1 FROM users WHERE email_key = ?1)`, FoldEmail(a.email), a.id)
			if err != nil {
				return fmt.Errorf("store: unable to fold the email of user %d: %w", a.id, err)
			}
		}
		return nil
	})
}
