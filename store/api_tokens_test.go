package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"scribe/job"
	"scribe/sqldb"
	"scribe/store"
	"scribe/store/storetest"
)

// TestAPITokens creates, finds, lists and revokes tokens, and checks that
// the database file never holds a secret.
func TestAPITokens(t *testing.T) {
	ctx := context.Background()
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) { testAPITokens(ctx, t, storetest.OptionsOn(t, d)) })
	}
}

func testAPITokens(ctx context.Context, t *testing.T, o store.Options) {
	s, err := store.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	alice := storetest.User(t, s, "alice@example.com")
	bob := storetest.User(t, s, "bob@example.com")

	tok, err := s.CreateAPIToken(ctx, alice.ID, "  laptop  ")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Secret, store.TokenPrefix) || len(tok.Secret) < len(store.TokenPrefix)+26 || tok.Name != "laptop" {
		t.Fatalf("created %+v", tok)
	}

	t.Run("FoundBySecret", func(t *testing.T) {
		u, found, err := s.UserByAPIToken(ctx, tok.Secret)
		if err != nil || u.ID != alice.ID || found.ID != tok.ID {
			t.Fatalf("UserByAPIToken = %v %+v %v", u.ID, found, err)
		}
		for _, bad := range []string{"", tok.Secret + "x", strings.TrimPrefix(tok.Secret, store.TokenPrefix), store.TokenPrefix} {
			if _, _, err := s.UserByAPIToken(ctx, bad); !errors.Is(err, job.ErrNotFound) {
				t.Errorf("UserByAPIToken(%q) = %v, want not found", bad, err)
			}
		}
	})
	t.Run("HashedAtRest", func(t *testing.T) {
		if o.URL != "" {
			hashedInPostgres(ctx, t, o.URL, tok)
			return
		}
		if err := s.Close(); err != nil { // flush the WAL into the file
			t.Fatal(err)
		}
		raw, err := os.ReadFile(o.Path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(tok.Secret)) || bytes.Contains(raw, []byte(strings.TrimPrefix(tok.Secret, store.TokenPrefix))) {
			t.Fatal("the database file holds the token's secret")
		}
		db, err := sql.Open("sqlite3", "file:"+o.Path+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var hash []byte
		if err := db.QueryRow("SELECT token_hash FROM api_tokens WHERE id = ?", tok.ID).Scan(&hash); err != nil || len(hash) != 32 {
			t.Fatalf("token_hash %x, %v; want 32 bytes", hash, err)
		}
		s, err = store.Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Listed", func(t *testing.T) {
		if _, err := s.CreateAPIToken(ctx, bob.ID, "bob's"); err != nil {
			t.Fatal(err)
		}
		list, err := s.APITokens(ctx, alice.ID)
		if err != nil || len(list) != 1 || list[0].ID != tok.ID || list[0].Secret != "" {
			t.Fatalf("alice's tokens %+v, %v", list, err)
		}
	})
	t.Run("BadName", func(t *testing.T) {
		for _, name := range []string{"", "   ", strings.Repeat("n", store.MaxTokenName+1), "a\nb"} {
			if _, err := s.CreateAPIToken(ctx, alice.ID, name); job.ErrorCode(err) != job.CodeInvalid {
				t.Errorf("name %q: %v, want invalid", name, err)
			}
		}
	})
	t.Run("UseWrittenOncePerMinute", func(t *testing.T) {
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		defer func() { s.Now = func() time.Time { return time.Now().UTC() } }()
		lastUsed := func() time.Time {
			_, found, err := s.UserByAPIToken(ctx, tok.Secret)
			if err != nil {
				t.Fatal(err)
			}
			return found.LastUsedAt
		}
		use := func() {
			_, found, _ := s.UserByAPIToken(ctx, tok.Secret)
			if err := s.TouchAPIToken(ctx, found); err != nil {
				t.Fatal(err)
			}
		}
		use()
		if got := lastUsed(); !got.Equal(now) {
			t.Fatalf("last used %v, want %v", got, now)
		}
		first := now
		now = now.Add(30 * time.Second)
		use()
		if got := lastUsed(); !got.Equal(first) {
			t.Fatalf("last used %v after 30 s, want still %v", got, first)
		}
		now = now.Add(31 * time.Second)
		use()
		if got := lastUsed(); !got.Equal(now) {
			t.Fatalf("last used %v after 61 s, want %v", got, now)
		}
	})
	t.Run("Revoked", func(t *testing.T) {
		if err := s.DeleteAPIToken(ctx, bob.ID, tok.ID); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("bob revoking alice's token: %v, want not found", err)
		}
		if err := s.DeleteAPIToken(ctx, alice.ID, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.UserByAPIToken(ctx, tok.Secret); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("revoked token: %v, want not found", err)
		}
	})
	t.Run("Limit", func(t *testing.T) {
		for range store.MaxTokensPerUser {
			if _, err := s.CreateAPIToken(ctx, bob.ID, "t"); err != nil {
				if job.ErrorCode(err) != job.CodeConflict {
					t.Fatal(err)
				}
				return
			}
		}
		t.Fatalf("%d more tokens for bob were all made, want a conflict past %d", store.MaxTokensPerUser, store.MaxTokensPerUser)
	})
}

// hashedInPostgres checks that no row of api_tokens, read whole as text,
// holds tok's secret, and that its hash is a SHA-256.
func hashedInPostgres(ctx context.Context, t *testing.T, url string, tok store.APIToken) {
	db, err := sqldb.OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var holding int
	err = db.QueryRowContext(ctx, "SELECT count(*) FROM api_tokens t WHERE strpos(t::text, $1) > 0",
		strings.TrimPrefix(tok.Secret, store.TokenPrefix)).Scan(&holding)
	if err != nil || holding != 0 {
		t.Fatalf("%d rows hold the token's secret (%v)", holding, err)
	}
	var hash []byte
	if err := db.QueryRowContext(ctx, "SELECT token_hash FROM api_tokens WHERE id = $1", tok.ID).Scan(&hash); err != nil || len(hash) != 32 {
		t.Fatalf("token_hash %x, %v; want 32 bytes", hash, err)
	}
}
