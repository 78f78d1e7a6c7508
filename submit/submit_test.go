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
	"scribe/metrics"
	"scribe/relay"
	"scribe/store"
)

// TestDeletedDuringUpload deletes a job while its upload is in flight: the
// transcription the upstream created for it must be deleted as well.
func TestDeletedDuringUpload(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "scribe.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.CreateUser(ctx, "ada@example.com", []byte("hash"))
	if err != nil {
		t.Fatal(err)
	}
	audio := filepath.Join(dir, "a.audio")
	if err := os.WriteFile(audio, []byte("RIFF"), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := db.CreateJob(ctx, store.Job{ID: "j_1", UserID: u.ID, Filename: "a.wav", AudioPath: audio, SizeBytes: 4})
	if err != nil {
		t.Fatal(err)
	}

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

	log := slog.New(slog.DiscardHandler)
	c := deepscript.New(upstream.URL, "key", nil)
	c.Logger = log
	m := metrics.New()
	s := New(db, c, relay.New(db, c, m, log), m, log, "http://app.example/webhooks/deepscript")
	s.submit(ctx, j)

	mu.Lock()
	defer mu.Unlock()
	if len(deleted) != 1 || deleted[0] != "tr_1" {
		t.Fatalf("upstream deletes %v; want [tr_1]", deleted)
	}
}
