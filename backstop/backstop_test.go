package backstop_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"scribe/backstop"
	"scribe/deepscript"
	"scribe/job"
	"scribe/metrics"
	"scribe/relay"
	"scribe/store"
)

// setup returns a store holding submitted jobs for upstreamIDs and the
// parts of a Poller wired to an upstream at url.
func setup(t *testing.T, url string, upstreamIDs ...string) (*store.Store, *deepscript.Client, *relay.Relay, *metrics.Metrics) {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), "scribe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	u, err := s.CreateUser(ctx, "a@example.com", []byte("hash"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range upstreamIDs {
		j, err := s.CreateJob(ctx, job.Job{ID: "j_" + id, UserID: u.ID, Filename: id + ".wav", AudioPath: "/x"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.MarkSubmitted(ctx, j.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	c := deepscript.New(url, "key", nil)
	c.Logger = log
	m := metrics.New()
	return s, c, relay.New(s, c, m, log), m
}

// TestRetryAfterHoldsEveryPoll checks that a 429 stops all status polls,
// of every job and across sweeps, until its Retry-After has passed, even
// when the poll interval is much shorter.
func TestRetryAfterHoldsEveryPoll(t *testing.T) {
	var mu sync.Mutex
	var polls []time.Time
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		polls = append(polls, time.Now())
		first := len(polls) == 1
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":{"code":"rate_limited","message":"slow down"}}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"status": "processing", "progress": 0.5})
	}))
	defer upstream.Close()
	s, c, rel, m := setup(t, upstream.URL, "tr_a", "tr_b")
	p := backstop.New(s, c, rel, m, slog.New(slog.DiscardHandler), 50*time.Millisecond, 0)

	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	p.Run(ctx)

	mu.Lock()
	defer mu.Unlock()
	if len(polls) < 2 {
		t.Fatalf("%d polls in 1.5 s; want the polls to resume after Retry-After", len(polls))
	}
	if gap := polls[1].Sub(polls[0]); gap < 950*time.Millisecond {
		t.Fatalf("next poll %v after a 429 with Retry-After: 1; want at least 1 s", gap)
	}
}
