package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"scribe/job"
	"time"

	"github.com/mattn/go-sqlite3"
)

// User is an account.
type User struct {
	ID           int64
	Email        string
	PasswordHash []byte
	CreatedAt    time.Time
	// SessionVersion is stamped into session cookies; bumping it revokes them.
	SessionVersion int64
}

// CreateUser adds an account; job.ErrConflict when the email is taken.
func (s *Store) CreateUser(ctx context.Context, email string, passwordHash []byte) (User, error) {
	u := User{Email: email, PasswordHash: passwordHash, CreatedAt: s.Now()}
	res, err := s.writer.ExecContext(ctx, "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?)",
		u.Email, u.PasswordHash, u.CreatedAt)
	var se sqlite3.Error
	if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique {
		return User{}, job.ErrConflict
	}
	if err != nil {
		return User{}, fmt.Errorf("store: unable to create user: %w", err)
	}
	u.ID, err = res.LastInsertId()
	return u, err
}

// UserByEmail finds an account by email, ignoring case.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	return s.user(ctx, "email = ?", email)
}

// UserByID finds an account by id.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	return s.user(ctx, "id = ?", id)
}

func (s *Store) user(ctx context.Context, where string, arg any) (User, error) {
	var u User
	err := s.reader.QueryRowContext(ctx, "SELECT id, email, password_hash, created_at, session_version FROM users WHERE "+where, arg).
		Scan(&u.ID, &u.Email, &u.PasswordHash, &u.CreatedAt, &u.SessionVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, job.ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("store: unable to load user: %w", err)
	}
	return u, nil
}

// RevokeSessions invalidates every session issued to a user so far.
func (s *Store) RevokeSessions(ctx context.Context, userID int64) error {
	if _, err := s.writer.ExecContext(ctx, "UPDATE users SET session_version = session_version + 1 WHERE id = ?", userID); err != nil {
		return fmt.Errorf("store: unable to revoke sessions of user %d: %w", userID, err)
	}
	return nil
}
