package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"scribe/job"
	"scribe/store"
	"scribe/store/storetest"
)

// TestFirstUserIsAdmin signs up concurrently: exactly one account is the
// admin, and of concurrent first sign-ups exactly one gets in.
func TestFirstUserIsAdmin(t *testing.T) {
	ctx := context.Background()
	const n = 8
	t.Run("Open", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, s *store.Store) {
			admins := countAdmins(t, n, func(i int) (store.User, error) {
				return s.CreateUser(ctx, fmt.Sprintf("u%d@example.com", i), []byte("h"))
			})
			if admins != 1 {
				t.Fatalf("%d admins among %d concurrent sign-ups, want 1", admins, n)
			}
		})
	})
	t.Run("FirstOnly", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, s *store.Store) {
			var mu sync.Mutex
			refused := 0
			admins := countAdmins(t, n, func(i int) (store.User, error) {
				u, err := s.CreateFirstUser(ctx, fmt.Sprintf("u%d@example.com", i), []byte("h"))
				if errors.Is(err, store.ErrInvitationRequired) {
					mu.Lock()
					refused++
					mu.Unlock()
					return u, nil
				}
				return u, err
			})
			if admins != 1 || refused != n-1 {
				t.Fatalf("%d admins and %d refused of %d first sign-ups, want 1 and %d", admins, refused, n, n-1)
			}
		})
	})
}

// countAdmins runs create n times at once and counts admins made.
func countAdmins(t *testing.T, n int, create func(i int) (store.User, error)) int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	admins := 0
	for i := range n {
		wg.Go(func() {
			u, err := create(i)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if u.Admin {
				admins++
			}
		})
	}
	wg.Wait()
	return admins
}

func TestEmailsFolded(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		u, err := s.CreateUser(ctx, "Straße@example.com", []byte("h"))
		if err != nil {
			t.Fatal(err)
		}
		for _, email := range []string{"STRASSE@EXAMPLE.COM", "strasse@example.com"} {
			if _, err := s.CreateUser(ctx, email, []byte("h")); !errors.Is(err, job.ErrConflict) {
				t.Errorf("sign-up as %q beside Straße: %v, want ErrConflict", email, err)
			}
			got, err := s.UserByEmail(ctx, email)
			if err != nil || got.ID != u.ID {
				t.Errorf("UserByEmail(%q) = %d, %v; want user %d", email, got.ID, err, u.ID)
			}
		}
		// "é" composed and decomposed, and a fullwidth "Ｅ", are one address.
		if _, err := s.CreateUser(ctx, "ren\u00e9@example.com", []byte("h")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateUser(ctx, "RENE\u0301@example.com", []byte("h")); !errors.Is(err, job.ErrConflict) {
			t.Errorf("decomposed accent: %v, want ErrConflict", err)
		}
		if _, err := s.UserByEmail(ctx, "r\uff25n\u00c9@example.com"); err != nil {
			t.Errorf("fullwidth letters: %v", err)
		}
		if got, want := u.Email, "Straße@example.com"; got != want {
			t.Errorf("email kept as %q, want %q as typed", got, want)
		}
	})
}

// TestOlderEmailsFolded opens a database whose accounts predate folding:
// Open folds them, and of two that fold alike the older keeps the key
// while the newer is still found by its email as before (ignoring ASCII
// case only). SQLite only: such databases exist only there, as PostgreSQL
// starts from a schema that has email_key.
func TestOlderEmailsFolded(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "scribe.db")
	s, err := store.Open(ctx, store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	older, err := s.CreateUser(ctx, "åsa@example.com", []byte("h"))
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, path, "UPDATE users SET email_key = NULL")
	newer, err := s.CreateUser(ctx, "ÅSA@example.com", []byte("h"))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := s.CreateUser(ctx, "Bo@Example.com", []byte("h"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	mustExec(t, path, "UPDATE users SET email_key = NULL")

	s, err = store.Open(ctx, store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for email, want := range map[string]int64{"åSA@EXAMPLE.COM": older.ID, "ÅSA@EXAMPLE.COM": newer.ID,
		"BO@example.COM": plain.ID, "ｂｏ@example.com": plain.ID} {
		if got, err := s.UserByEmail(ctx, email); err != nil || got.ID != want {
			t.Errorf("UserByEmail(%q) = user %d, %v; want user %d", email, got.ID, err, want)
		}
	}
}

// mustExec runs SQL on the database file behind the store's back.
func mustExec(t *testing.T, path, query string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query); err != nil {
		t.Fatal(err)
	}
}

func TestDisable(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		u, _ := s.CreateUser(ctx, "a@example.com", []byte("h"))
		if err := s.SetDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		got, _ := s.UserByID(ctx, u.ID)
		if !got.Disabled || got.SessionVersion != u.SessionVersion+1 {
			t.Fatalf("after disable: disabled %t, session version %d; want true, %d", got.Disabled, got.SessionVersion, u.SessionVersion+1)
		}
		if err := s.SetDisabled(ctx, u.ID, false); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.UserByID(ctx, u.ID); got.Disabled {
			t.Fatal("still disabled after enable")
		}
		if err := s.SetDisabled(ctx, 999, true); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("disable unknown user: %v, want ErrNotFound", err)
		}
	})
}

func TestInvitation(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		admin, _ := s.CreateUser(ctx, "admin@example.com", []byte("h"))
		l, err := s.CreateInvitation(ctx, admin.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CheckInvitation(ctx, l.Token); err != nil {
			t.Fatalf("fresh invitation: %v", err)
		}
		if _, err := s.CreateInvitedUser(ctx, l.Token, "ADMIN@example.com", []byte("h")); !errors.Is(err, job.ErrConflict) {
			t.Fatalf("invited sign-up with a taken email: %v, want ErrConflict", err)
		}
		u, err := s.CreateInvitedUser(ctx, l.Token, "b@example.com", []byte("h"))
		if err != nil {
			t.Fatalf("invitation unusable after a taken email: %v", err)
		}
		if u.Admin {
			t.Error("an invited account is an admin")
		}
		if _, err := s.CreateInvitedUser(ctx, l.Token, "c@example.com", []byte("h")); !errors.Is(err, store.ErrLinkInvalid) {
			t.Fatalf("invitation used twice: %v, want ErrLinkInvalid", err)
		}

		expiring, _ := s.CreateInvitation(ctx, admin.ID)
		now = now.Add(store.InvitationFor)
		if err := s.CheckInvitation(ctx, expiring.Token); !errors.Is(err, store.ErrLinkInvalid) {
			t.Fatalf("expired invitation: %v, want ErrLinkInvalid", err)
		}
		if _, err := s.CreateInvitedUser(ctx, expiring.Token, "d@example.com", []byte("h")); !errors.Is(err, store.ErrLinkInvalid) {
			t.Fatalf("sign-up with an expired invitation: %v, want ErrLinkInvalid", err)
		}
	})
}

func TestResetLink(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		admin, _ := s.CreateUser(ctx, "admin@example.com", []byte("h"))
		u, _ := s.CreateUser(ctx, "b@example.com", []byte("old"))
		first, _ := s.CreateResetLink(ctx, admin.ID, u.ID)
		l, err := s.CreateResetLink(ctx, admin.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ResetLinkUser(ctx, first.Token); !errors.Is(err, store.ErrLinkInvalid) {
			t.Fatalf("an older reset link after a newer one: %v, want ErrLinkInvalid", err)
		}
		if got, err := s.ResetLinkUser(ctx, l.Token); err != nil || got.ID != u.ID {
			t.Fatalf("ResetLinkUser = %d, %v; want user %d", got.ID, err, u.ID)
		}
		got, err := s.ResetPassword(ctx, l.Token, []byte("new"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got.PasswordHash) != "new" || got.SessionVersion != u.SessionVersion+1 {
			t.Fatalf("after reset: hash %q, session version %d; want new, %d", got.PasswordHash, got.SessionVersion, u.SessionVersion+1)
		}
		if _, err := s.ResetPassword(ctx, l.Token, []byte("again")); !errors.Is(err, store.ErrLinkInvalid) {
			t.Fatalf("reset link used twice: %v, want ErrLinkInvalid", err)
		}
		if _, err := s.CreateResetLink(ctx, admin.ID, 999); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("reset link for an unknown user: %v, want ErrNotFound", err)
		}
		expiring, _ := s.CreateResetLink(ctx, admin.ID, u.ID)
		now = now.Add(store.ResetLinkFor)
		if _, err := s.ResetPassword(ctx, expiring.Token, []byte("late")); !errors.Is(err, store.ErrLinkInvalid) {
			t.Fatalf("expired reset link: %v, want ErrLinkInvalid", err)
		}
	})
}

func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		u, _ := s.CreateUser(ctx, "a@example.com", []byte("old"))
		got, err := s.ChangePassword(ctx, u.ID, []byte("new"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got.PasswordHash) != "new" || got.SessionVersion != u.SessionVersion+1 {
			t.Fatalf("after change: hash %q, session version %d; want new, %d", got.PasswordHash, got.SessionVersion, u.SessionVersion+1)
		}
		if users, err := s.Users(ctx, 10); err != nil || len(users) != 1 || string(users[0].PasswordHash) != "new" {
			t.Fatalf("Users = %v, %v", users, err)
		}
	})
}
