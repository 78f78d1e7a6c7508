package bench

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the app's own database file, seeded directly

	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
)

// install is one scribe data dir and the fake upstream it talks to.
type install struct {
	fake *deepscripttest.Server
	dir  string
	env  map[string]string
}

// newInstall makes a data dir and a fake upstream whose jobs stay
// processing until released, with the given users signed up (the app is
// started once for that and stopped).
func newInstall(t *testing.T, emails ...string) *install {
	t.Helper()
	fake := deepscripttest.NewServer(t)
	fake.Plan = func(string) deepscripttest.Plan { return deepscripttest.Plan{Hold: true} }
	in := &install{fake: fake, dir: t.TempDir(), env: map[string]string{
		"DEEPSCRIPT_URL": fake.URL, "DEEPSCRIPT_API_KEY": fake.APIKey,
		"SCRIBE_MAX_STREAMS_PER_USER": "20000", "SCRIBE_MAX_QUEUED_PER_USER": "100000",
		"SCRIBE_DAILY_AUDIO_PER_USER": "100000h", "SCRIBE_MAX_FILES_PER_UPLOAD": "100",
	}}
	if len(emails) > 0 {
		p := in.start(t, nil)
		for _, e := range emails {
			userClient(t, p.URL, e, true)
		}
		p.Stop()
	}
	return in
}

// start runs scribe on the install with extra settings.
func (in *install) start(t *testing.T, extra map[string]string) *proc {
	t.Helper()
	env := map[string]string{}
	for k, v := range in.env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	return startScribe(t, in.dir, env, "serve")
}

// seeded is one job written straight into the database.
type seeded struct {
	ID, UpstreamID string
}

// seedJobs writes n jobs of email's account into the stopped app's
// database in one transaction: processing jobs (known to the fake
// upstream, which holds them) when active, else completed ones.
func (in *install) seedJobs(t *testing.T, email string, n int, active bool) []seeded {
	t.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(in.dir, "scribe.db")+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var userID int64
	if err := db.QueryRowContext(ctx, `SELECT id FROM users WHERE email = ?`, email).Scan(&userID); err != nil {
		t.Fatalf("seed: user %s: %v", email, err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT value FROM counters WHERE name = 'seq'`).Scan(&seq); err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO jobs (id, user_id, filename, audio_path, size_bytes, duration,
		upstream_id, submitted_at, status, progress, completed_via, finished_at, seq, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	client := in.fake.Client() // one client, so its connections are reused
	start := time.Now().UTC().Add(-time.Duration(n) * time.Second)
	jobs := make([]seeded, n)
	for i := range n {
		at := start.Add(time.Duration(i) * time.Second)
		name := fmt.Sprintf("seed-%d-%d.wav", userID, i)
		j := seeded{ID: fmt.Sprintf("seed%d-%07d", userID, i)}
		status, progress, via, finished, submitted := "completed", 1.0, "webhook", any(at), at
		if active {
			tr, err := client.CreateTranscription(ctx, deepscript.CreateRequest{File: strings.NewReader("audio of " + name),
				Filename: name, Metadata: j.ID, IdempotencyKey: j.ID})
			if err != nil {
				t.Fatalf("seed: create upstream job %s: %v", name, err)
			}
			j.UpstreamID = tr.ID
			// Submitted just now: not yet stale for the backstop.
			status, progress, via, finished, submitted = "processing", 0.3, "", nil, time.Now().UTC()
		}
		seq++
		if _, err := stmt.ExecContext(ctx, j.ID, userID, name, "missing/"+j.ID, 48000, 1.5,
			nullString(j.UpstreamID), submitted, status, progress, via, finished, seq, at, at); err != nil {
			t.Fatal(err)
		}
		jobs[i] = j
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO counters (name, value) VALUES ('seq', ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, seq); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return jobs
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func numCPU() int { return runtime.NumCPU() }
