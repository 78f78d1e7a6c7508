package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"scribe/deepscript"
	"scribe/metrics"
	"scribe/relay"
	"scribe/speech"
	"scribe/store"
)

// newTestHandler returns a Handler on a fresh store whose upstream is at
// upstreamURL; uploads are taken as audio of one second.
func newTestHandler(t *testing.T, upstreamURL string) *Handler {
	t.Helper()
	dir := t.TempDir()
	s, err := store.Open(context.Background(), filepath.Join(dir, "scribe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	log := slog.New(slog.DiscardHandler)
	c := deepscript.New(upstreamURL, "key", nil)
	c.Logger = log
	m := metrics.New()
	return New(Config{UploadDir: dir, MaxUploadBytes: 1 << 20, SessionKeys: [][]byte{make([]byte, 64), make([]byte, 32)}},
		Deps{Store: s, Relay: relay.New(s, c, m, log), Client: c, Metrics: m, Log: log, Submit: func() {},
			Probe:    func(context.Context, string) (speech.Info, error) { return speech.Info{Duration: 1}, nil },
			Shutdown: make(chan struct{})})
}

// TestHealthzHidesErrors checks that the public health check says what is
// down without the error text, which names the upstream's address.
func TestHealthzHidesErrors(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	h := newTestHandler(t, down.URL)
	rec := httptest.NewRecorder()
	h.Routes().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if got, want := rec.Code, http.StatusServiceUnavailable; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
	if got, want := rec.Body.String(), `{"store":"ok","upstream":"unavailable"}`+"\n"; got != want {
		t.Fatalf("body %q, want %q", got, want)
	}
}
