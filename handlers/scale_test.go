package handlers

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	// The SQLite driver, for seeding rows directly.
	_ "github.com/mattn/go-sqlite3"

	"scribe/store"
	"scribe/store/storetest"
)

// Sizes of the two users' job lists in BenchmarkPagesScale.
const (
	smallList = 100
	largeList = 100_000
)

// BenchmarkPagesScale times the list page (first and a deep page), the
// JSON list (plain, and by name with a status filter) and the delivery
// page for a user with 100 jobs and one with 100,000 in the same
// database: every query reads a page or a bounded window through an
// index, so each pair should be within 2× of each other.
func BenchmarkPagesScale(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "scribe.db")
	s, err := store.Open(ctx, store.Options{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	small, large := storetest.User(b, s, "small@example.com"), storetest.User(b, s, "large@example.com")
	start := time.Now()
	seedJobs(b, path, map[int64]int{small.ID: smallList, large.ID: largeList})
	b.Logf("seeded %d jobs in %v", smallList+largeList, time.Since(start).Round(time.Millisecond))

	h := newTestHandlerOn(b, unreachable(), s)
	users := []struct {
		store.User
		jobs int
	}{{small, smallList}, {large, largeList}}
	for _, route := range []struct {
		name, path string
		json       bool
	}{
		{"home", "/", false},
		{"home_deep_page", "", false},
		{"jobs_json", "/jobs", true},
		{"jobs_json_by_name_completed", "/jobs?sort=name&status=completed", true},
		{"delivery", "/delivery", false},
	} {
		for _, u := range users {
			path := route.path
			if path == "" { // a page from the middle of the list
				c := store.Cursor{Sort: store.SortDate, CreatedAt: seedTime(u.jobs / 2), ID: seedID(u.ID, u.jobs/2)}
				path = "/?after=" + url.QueryEscape(c.String())
			}
			cookie := signedInB(b, h, u.User)
			b.Run(fmt.Sprintf("%s/jobs=%d", route.name, u.jobs), func(b *testing.B) {
				for b.Loop() {
					req := httptest.NewRequest("GET", path, nil)
					if route.json {
						req.Header.Set("Accept", "application/json")
					}
					if rec := serve(h, req, cookie); rec.Code != http.StatusOK {
						b.Fatalf("%s: status %d", path, rec.Code)
					}
				}
			})
		}
	}
}

// signedInB is a session cookie for u, as signedIn makes for tests.
func signedInB(b *testing.B, h *Handler, u store.User) *http.Cookie {
	b.Helper()
	rec := httptest.NewRecorder()
	if err := h.signIn(rec, httptest.NewRequest("GET", "/", nil), u); err != nil {
		b.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionName {
			return c
		}
	}
	b.Fatal("no session cookie")
	return nil
}

// seedTime is when the i-th seeded job of a user was created.
func seedTime(i int) time.Time {
	return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
}

func seedID(userID int64, i int) string { return fmt.Sprintf("s%d_%06d", userID, i) }

// seedJobs inserts n jobs for each user straight into the database, in
// one transaction of set-based SQL: nine in ten completed (mostly by
// webhook), the rest failed or processing, one in ten tagged with one of
// 20 tags. Times are written as the driver writes them.
func seedJobs(t testing.TB, path string, jobs map[int64]int) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000&_foreign_keys=on&_synchronous=OFF&_cache_size=-131072")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for userID, n := range jobs {
		// ts is the i-th job's creation plus extra seconds, as seedTime says.
		_, err := tx.Exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?2),
			seeded AS (SELECT i, printf('s%d_%06d', ?1, i) AS id, i % 10 AS kind,
				strftime('%Y-%m-%d %H:%M:%S+00:00', '2026-01-01', '+' || i || ' seconds') AS created,
				strftime('%Y-%m-%d %H:%M:%S', '2026-01-01', '+' || (i + 30) || ' seconds') AS done FROM n)
			INSERT INTO jobs (id, user_id, filename, name, audio_path, size_bytes, duration, upstream_id,
				submitted_at, status, progress, completed_via, upstream_done_at, finished_at, polls, seq,
				created_at, updated_at)
			SELECT id, ?1, printf('call %d.mp3', i % 500), printf('call %d.mp3', i % 500), '/nowhere',
				1048576 + i, 60 + i % 600, 'up_' || id, created,
				CASE kind WHEN 9 THEN 'processing' WHEN 8 THEN 'failed' ELSE 'completed' END,
				CASE kind WHEN 9 THEN 0.5 ELSE 1 END,
				CASE WHEN kind = 9 THEN '' WHEN kind IN (6, 8) THEN 'poll' WHEN kind = 7 THEN 'sse' ELSE 'webhook' END,
				CASE WHEN kind = 9 THEN NULL ELSE done || '+00:00' END,
				CASE WHEN kind = 9 THEN NULL ELSE done || '.08+00:00' END,
				i % 3, (SELECT value FROM counters WHERE name = 'seq') + i + 1, created, created
			FROM seeded`, userID, n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO job_tags (job_id, user_id, tag)
			SELECT id, user_id, printf('tag%02d', CAST(substr(id, -6) AS INTEGER) / 10 % 20) FROM jobs
			WHERE user_id = ? AND CAST(substr(id, -6) AS INTEGER) % 10 = 3`, userID); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec("UPDATE counters SET value = value + ? WHERE name = 'seq'", n); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
