package submit

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"scribe/deepscript"
	"scribe/job"
	"scribe/metrics"
	"scribe/relay"
	"scribe/store"
)

// TestDeletedDuringUpload deletes a job while its upload is in flight: the
// transcription the upstream created for it must be deleted as well.
func TestDeletedDuringUpload(t *testing.T) {
	ctx := context.Background()
	db, u, j := queuedJob(t)

	var mu sync.Mutex
	var deleted []string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/transcriptions", func(w http.ResponseWriter, r *http.Request) {
		// The owner deletes the job while the upload is under way.
		if _, err := db.DeleteJob(r.Context(), u.ID, j.ID); err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(deepscript.Transcription{ID: "tr_1", Status: deepscript.StatusQueued})
	})
	mux.HandleFunc("DELETE /v1/transcriptions/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		deleted = append(deleted, r.PathValue("id"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	upstream := httptest.NewServer(mux)
	defer upstream.Close()

	s := newSubmitter(db, upstream.URL)
	s.submit(ctx, j)

	mu.Lock()
	defer mu.Unlock()
	if len(deleted) != 1 || deleted[0] != "tr_1" {
		t.Fatalf("upstream deletes %v; want [tr_1]", deleted)
	}
}

// TestReplayedCreateAlreadyDone: a create replayed with the same
// Idempotency-Key answers with a transcription that has already completed;
// the job takes that state at once, result included.
func TestReplayedCreateAlreadyDone(t *testing.T) {
	ctx := context.Background()
	db, u, j := queuedJob(t)
	done := deepscript.Transcription{ID: "tr_1", Status: deepscript.StatusCompleted, Progress: 1}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/transcriptions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(done) // 200: the job this key already made
	})
	mux.HandleFunc("GET /v1/transcriptions/{id}", func(w http.ResponseWriter, r *http.Request) {
		withResult := done
		withResult.Result = &deepscript.Result{Text: "already done"}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(withResult)
	})
	upstream := httptest.NewServer(mux)
	defer upstream.Close()

	s := newSubmitter(db, upstream.URL)
	s.submit(ctx, j)

	got, err := db.Job(ctx, u.ID, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != job.StatusCompleted || got.CompletedVia != job.ViaSubmit {
		t.Fatalf("job after a replayed create: %s via %q, want completed via submit", got.Status, got.CompletedVia)
	}
	if r, err := db.Result(ctx, j.ID); err != nil || r.Text != "already done" {
		t.Fatalf("result = %+v, %v", r, err)
	}
}

// queuedJob opens a store in a temp dir with one user and one job waiting
// to be submitted.
func queuedJob(t *testing.T) (*store.Store, store.User, job.Job) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "scribe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u, err := db.CreateUser(ctx, "ada@example.com", []byte("hash"))
	if err != nil {
		t.Fatal(err)
	}
	audio := filepath.Join(dir, "a.audio")
	if err := os.WriteFile(audio, []byte("RIFF"), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := db.CreateJob(ctx, job.Job{ID: "j_1", UserID: u.ID, Filename: "a.wav", AudioPath: audio, SizeBytes: 4})
	if err != nil {
		t.Fatal(err)
	}
	return db, u, j
}

// newSubmitter returns a Submitter that talks to the upstream at url.
func newSubmitter(db *store.Store, url string) *Submitter {
	log := slog.New(slog.DiscardHandler)
	c := deepscript.New(url, "key", nil)
	c.Logger = log
	m := metrics.New()
	return New(db, c, relay.New(db, c, m, log), m, log, "http://app.example/webhooks/deepscript")
}
