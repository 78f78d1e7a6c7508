package engine

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"scribe/deepscript"
)

// TestQueueCap fills a queue capped at two behind a job the only worker
// holds, and checks that the next create is refused with 429 and
// Retry-After until a queued job is deleted or taken up, while replaying
// an existing Idempotency-Key still answers as before.
func TestQueueCap(t *testing.T) {
	rec := &scripted{gate: make(chan struct{})}
	e := startEngine(t, func(c *Config) { c.Recognizer = rec; c.MaxQueued = 2 })
	running := e.mustSubmit(clips.short, nil)
	e.waitStatus(running.ID, deepscript.StatusProcessing, 5*time.Second)
	key := http.Header{"Idempotency-Key": {"queued-1"}}
	status, body := e.submit(clips.short, nil, key)
	if status != http.StatusCreated {
		t.Fatalf("first queued: %d %s", status, body)
	}
	first := decode[deepscript.Transcription](t, body)
	second := e.mustSubmit(clips.other, nil)

	// The app's client, so the test also shows it reads the Retry-After.
	client := deepscript.New(e.URL(), testAPIKey, nil)
	full := func(t *testing.T, path string) {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		_, err = client.CreateTranscription(context.Background(), deepscript.CreateRequest{File: f, Filename: "short.wav"})
		var apiErr *deepscript.APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("create with a full queue: %v, want an API error", err)
		}
		if apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != deepscript.CodeRateLimited || apiErr.RetryAfter != 30*time.Second {
			t.Fatalf("create with a full queue: %d %s, Retry-After %v; want 429 rate_limited after 30s",
				apiErr.StatusCode, apiErr.Code, apiErr.RetryAfter)
		}
	}
	t.Run("Full", func(t *testing.T) { full(t, clips.short) })
	t.Run("FullLargeUpload", func(t *testing.T) {
		// Refused before its body is read: the client must still get the
		// answer, not a broken connection.
		path := filepath.Join(t.TempDir(), "large.wav")
		if err := os.WriteFile(path, make([]byte, 8<<20), 0o600); err != nil {
			t.Fatal(err)
		}
		full(t, path)
	})
	t.Run("ReplayWhileFull", func(t *testing.T) {
		status, body := e.submit(clips.short, nil, key)
		if status != http.StatusOK || decode[deepscript.Transcription](t, body).ID != first.ID {
			t.Fatalf("replay of a known key: %d %s, want 200 with %s", status, body, first.ID)
		}
	})
	t.Run("AfterDelete", func(t *testing.T) {
		if status, _ := e.request(http.MethodDelete, "/v1/transcriptions/"+second.ID, nil, nil); status != http.StatusNoContent {
			t.Fatalf("DELETE: %d, want 204", status)
		}
		e.mustSubmit(clips.other, nil)
		full(t, clips.short)
	})
	t.Run("AfterFinish", func(t *testing.T) {
		close(rec.gate) // the running job finishes and the worker takes the next
		e.waitStatus(running.ID, deepscript.StatusCompleted, 5*time.Second)
		e.waitStatus(first.ID, deepscript.StatusCompleted, 5*time.Second)
		if status, body := e.submit(clips.short, nil, nil); status != http.StatusCreated {
			t.Fatalf("create once the queue drained: %d %s, want 201", status, body)
		}
	})
}

// TestQueueCapConcurrent sends eight creates at once to an empty queue
// capped at two: the count in the creating transaction lets exactly two in.
func TestQueueCapConcurrent(t *testing.T) { onBothBackends(t, testQueueCapConcurrent) }

func testQueueCapConcurrent(t *testing.T) {
	rec := &scripted{gate: make(chan struct{})}
	defer close(rec.gate)
	e := startEngine(t, func(c *Config) { c.Recognizer = rec; c.MaxQueued = 2 })
	running := e.mustSubmit(clips.short, nil)
	e.waitStatus(running.ID, deepscript.StatusProcessing, 5*time.Second)
	client := deepscript.New(e.URL(), testAPIKey, nil)
	results := make(chan error, 8)
	for range 8 {
		go func() {
			f, err := os.Open(clips.short)
			if err != nil {
				results <- err
				return
			}
			defer f.Close()
			_, err = client.CreateTranscription(context.Background(), deepscript.CreateRequest{File: f, Filename: "short.wav"})
			results <- err
		}()
	}
	created, refused := 0, 0
	for range 8 {
		var apiErr *deepscript.APIError
		switch err := <-results; {
		case err == nil:
			created++
		case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests:
			refused++
		default:
			t.Errorf("create: %v, want 201 or 429", err)
		}
	}
	if created != 2 || refused != 6 {
		t.Fatalf("%d created and %d refused, want 2 and 6", created, refused)
	}
}
