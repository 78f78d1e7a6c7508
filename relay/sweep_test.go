package relay

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"scribe/job"
	"scribe/metrics"
	"scribe/store"
)

// TestSweepUploads keeps every job's audio and files written lately, and
// removes the rest.
func TestSweepUploads(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(ctx, store.Options{Path: filepath.Join(t.TempDir(), "scribe.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.CreateUser(ctx, "ada@example.com", []byte("hash"))
	if err != nil {
		t.Fatal(err)
	}
	kept, orphan, inFlight := filepath.Join(dir, "j_1.audio"), filepath.Join(dir, "j_cut.audio"), filepath.Join(dir, "j_new.audio")
	for _, p := range []string{kept, orphan, inFlight} {
		if err := os.WriteFile(p, []byte("audio"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, p := range []string{kept, orphan} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateJob(ctx, job.Job{ID: "j_1", UserID: u.ID, Filename: "a.wav", AudioPath: kept}); err != nil {
		t.Fatal(err)
	}
	r := New(s, nil, metrics.New(), slog.New(slog.DiscardHandler))
	n, err := r.SweepUploads(ctx, dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n, 1; got != want {
		t.Fatalf("removed %d files, want %d", got, want)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("a job's audio was removed: %v", err)
	}
	if _, err := os.Stat(inFlight); err != nil {
		t.Errorf("an upload written a moment ago was removed: %v", err)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("the orphan is still there (%v)", err)
	}
}
