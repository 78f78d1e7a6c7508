package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scribe/pgtest"
)

// TestPostgresEndToEnd runs the app on PostgreSQL (SCRIBE_DATABASE_URL)
// with the embedded engine: real speech goes from upload to transcript,
// the data directory holds no database, and an app started afresh on
// another data directory and the same database finds the account and the
// finished job. Search finds the job by a word of its transcript.
func TestPostgresEndToEnd(t *testing.T) {
	db := pgtest.URL(t)
	app := startApp(t, map[string]string{"SCRIBE_DATABASE_URL": db, "SCRIBE_ENGINE_WORKERS": "1"})
	alice := newUser(t, app, "alice@example.com")
	wav := speechFile(t, t.TempDir(), "slt", "The meeting starts at nine thirty on Tuesday.")
	id := uploadFile(t, alice, app, wav)
	if j := waitFinal(t, alice, app, id, 90*time.Second); j.Status != "completed" {
		t.Fatalf("job ended %+v", j)
	}
	text, _, status := download(t, alice, app.URL+"/jobs/"+id+"/transcript.txt")
	if status != http.StatusOK || !strings.Contains(strings.ToLower(text), "tuesday") {
		t.Fatalf("transcript: status %d, %q", status, text)
	}
	// Search finds it, as scripts ask for it (GET /search, JSON).
	req, _ := http.NewRequest("GET", app.URL+"/search?q=TUESDAY", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := alice.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var found struct {
		Results []struct {
			JobID string `json:"job_id"`
		} `json:"results"`
	}
	err = json.NewDecoder(resp.Body).Decode(&found)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(found.Results) != 1 || found.Results[0].JobID != id {
		t.Fatalf("search: status %d, %+v, %v", resp.StatusCode, found, err)
	}
	if _, err := os.Stat(filepath.Join(app.DataDir, "scribe.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the data directory holds a SQLite database: %v", err)
	}
	app.Stop()

	again := startApp(t, map[string]string{"SCRIBE_DATABASE_URL": db})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = c.PostForm(again.URL+"/login", url.Values{"email": {"alice@example.com"}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login on a new data directory: status %d, want 303", resp.StatusCode)
	}
	if j, status := getJob(t, c, again, id); status != http.StatusOK || j.Status != "completed" {
		t.Fatalf("job on a new data directory: %d %+v", status, j)
	}
	if got, _, status := download(t, c, again.URL+"/jobs/"+id+"/transcript.txt"); status != http.StatusOK || got != text {
		t.Fatalf("transcript on a new data directory: %d %q, want %q", status, got, text)
	}
}
