package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"scribe/job"
	"scribe/random"
	"scribe/sqldb"
)

// TokenPrefix starts every API token, so a leaked one is recognisable (and
// secret scanners can find it).
const TokenPrefix = "scribe_"

// Limits on API tokens.
const (
	// MaxTokensPerUser bounds the tokens one account may hold.
	MaxTokensPerUser = 50
	// MaxTokenName is the longest token name, in bytes.
	MaxTokenName = 100
	// TokenUseEvery is how often a token's last use is written at most, so
	// a busy script does not write on every request.
	TokenUseEvery = time.Minute
)

// APIToken is a named token a person made for their scripts. Secret is set
// only when the token is created: the database keeps a hash of it.
type APIToken struct {
	ID         string
	UserID     int64
	Name       string
	Secret     string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
}

var (
	errTokenName   = job.Errorf(job.CodeInvalid, fmt.Sprintf("Give the token a name of at most %d characters.", MaxTokenName))
	errTooManyKeys = job.Errorf(job.CodeConflict, fmt.Sprintf("You have %d tokens, the most one account may hold; revoke one first.", MaxTokensPerUser))
)

// CreateAPIToken makes a token named name for userID. The secret is
// TokenPrefix and 130 random bits (crypto/rand.Text).
func (s *Store) CreateAPIToken(ctx context.Context, userID int64, name string) (APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxTokenName || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return APIToken{}, errTokenName
	}
	t := APIToken{ID: random.ID("tok_"), UserID: userID, Name: name, Secret: TokenPrefix + rand.Text(), CreatedAt: s.Now().UTC()}
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		if err := lockUser(ctx, tx, userID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM api_tokens WHERE user_id = ?", userID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxTokensPerUser {
			return errTooManyKeys
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
			t.ID, userID, t.Name, tokenHash(t.Secret), t.CreatedAt)
		return err
	})
	if err != nil && job.ErrorCode(err) == job.CodeInternal {
		return APIToken{}, fmt.Errorf("store: unable to create API token: %w", err)
	}
	if err != nil {
		return APIToken{}, err
	}
	return t, nil
}

// APITokens lists userID's tokens, newest first, without their secrets.
func (s *Store) APITokens(ctx context.Context, userID int64) ([]APIToken, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, user_id, name, created_at, last_used_at FROM api_tokens
		WHERE user_id = ? ORDER BY created_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list API tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanAPIToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: unable to read API token: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to list API tokens: %w", err)
	}
	return out, nil
}

// DeleteAPIToken revokes one of userID's tokens; job.ErrNotFound when
// userID has no token id.
func (s *Store) DeleteAPIToken(ctx context.Context, userID int64, id string) error {
	res, err := s.writer.ExecContext(ctx, "DELETE FROM api_tokens WHERE id = ? AND user_id = ?", id, userID)
	if err != nil {
		return fmt.Errorf("store: unable to delete API token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return job.ErrNotFound
	}
	return nil
}

// UserByAPIToken finds the account a token secret belongs to, and the
// token; job.ErrNotFound for an unknown or revoked one. The lookup is by
// the secret's SHA-256, so no comparison of secrets can leak by timing.
func (s *Store) UserByAPIToken(ctx context.Context, secret string) (User, APIToken, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return User{}, APIToken{}, job.ErrNotFound
	}
	t, err := scanAPIToken(s.reader.QueryRowContext(ctx,
		"SELECT id, user_id, name, created_at, last_used_at FROM api_tokens WHERE token_hash = ?", tokenHash(secret)))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, APIToken{}, job.ErrNotFound
	}
	if err != nil {
		return User{}, APIToken{}, fmt.Errorf("store: unable to look up API token: %w", err)
	}
	u, err := s.UserByID(ctx, t.UserID)
	return u, t, err
}

// TouchAPIToken records that a token was used now, unless its last use
// was written less than TokenUseEvery ago.
func (s *Store) TouchAPIToken(ctx context.Context, t APIToken) error {
	now := s.Now().UTC()
	if !t.LastUsedAt.IsZero() && now.Sub(t.LastUsedAt) < TokenUseEvery {
		return nil
	}
	_, err := s.writer.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ?1
		WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at <= ?3)`, now, t.ID, now.Add(-TokenUseEvery))
	if err != nil {
		return fmt.Errorf("store: unable to record API token use: %w", err)
	}
	return nil
}

func scanAPIToken(row interface{ Scan(...any) error }) (APIToken, error) {
	var t APIToken
	var used sql.NullTime
	err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.CreatedAt, &used)
	t.LastUsedAt = used.Time
	return t, err
}
