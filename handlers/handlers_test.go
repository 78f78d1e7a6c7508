package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"scribe/deepscript"
	"scribe/job"
	"scribe/media"
	"scribe/metrics"
	"scribe/relay"
	"scribe/store"
)

// newTestHandler returns a Handler on a fresh store whose upstream is at
// upstreamURL; uploads are taken as audio of one second.
func newTestHandler(t testing.TB, upstreamURL string) *Handler {
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
	return New(Config{UploadDir: dir, MaxUploadBytes: 1 << 20, SessionKeys: [][]byte{make([]byte, 64), make([]byte, 32)}, Signup: SignupOpen},
		Deps{Store: s, Relay: relay.New(s, c, m, log), Client: c, Metrics: m, Log: log,
			Probe:    func(context.Context, string) (media.Info, error) { return media.Info{Duration: 1}, nil },
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

// signUp creates an account through the app and returns its session cookie.
func signUp(t *testing.T, h http.Handler, email string) *http.Cookie {
	t.Helper()
	req := httptest.NewRequest("POST", "/signup", strings.NewReader(url.Values{"email": {email}, "password": {"correct horse battery"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("signup: %d %s", rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionName {
			return c
		}
	}
	t.Fatal("signup set no session cookie")
	return nil
}

// multipartFiles builds a POST /jobs body with one file part per name.
func multipartFiles(t *testing.T, names ...string) (string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, n := range names {
		fw, err := mw.CreateFormFile("file", n)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte("RIFF pretend audio"))
	}
	mw.Close()
	return mw.FormDataContentType(), &b
}

// TestUploadJSONHidesInternalErrors uploads two files, one of which fails
// on our side: the JSON answer lists the job made and a generic message
// for the other, not the internal error's text.
func TestUploadJSONHidesInternalErrors(t *testing.T) {
	h := newTestHandler(t, "http://127.0.0.1:1")
	var probeFails atomic.Bool // the first file is audio, the rest fail
	h.Probe = func(_ context.Context, path string) (media.Info, error) {
		if probeFails.Load() {
			return media.Info{}, errors.New("ffprobe: exec /usr/bin/ffprobe: secret detail")
		}
		probeFails.Store(true)
		return media.Info{Duration: 1}, nil
	}
	routes := h.Routes()
	cookie := signUp(t, routes, "ada@example.com")
	ctype, body := multipartFiles(t, "good.wav", "bad.wav")
	req := httptest.NewRequest("POST", "/jobs", body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	routes.ServeHTTP(rec, req)
	if got, want := rec.Code, http.StatusCreated; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, rec.Body)
	}
	var got struct {
		Jobs   []jobJSON `json:"jobs"`
		Errors []string  `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Jobs) != 1 || len(got.Errors) != 1 {
		t.Fatalf("got %d jobs and errors %q; want 1 job and 1 error", len(got.Jobs), got.Errors)
	}
	if got, want := got.Errors[0], job.ErrorMessage(errors.New("internal")); got != want {
		t.Fatalf("error %q, want %q", got, want)
	}
}
