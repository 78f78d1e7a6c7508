package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"scribe/deepscript"
	"scribe/job"
)

// TestUploadOnFullDisk: with too little free space an upload is refused
// with 507 and a message that says why, and nothing is left behind.
func TestUploadOnFullDisk(t *testing.T) {
	h := newTestHandler(t, unreachable())
	h.Free = func(string) (uint64, error) { return 1 << 20, nil }
	h.cfg.MinFreeBytes = 64 << 20
	routes := h.Routes()
	cookie := userCookie(t, h, "ada@example.com")
	ctype, body := multipartFiles(t, audioFiles("a.wav")...)
	req := httptest.NewRequest("POST", "/jobs", body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	routes.ServeHTTP(rec, req)
	if got, want := rec.Code, http.StatusInsufficientStorage; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, rec.Body)
	}
	var got struct{ Error string }
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || !strings.Contains(got.Error, "storage space") {
		t.Fatalf("message %q (%v), want one about storage space", got.Error, err)
	}
	entries, _ := os.ReadDir(h.cfg.UploadDir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".audio") {
			t.Errorf("refused upload left %s behind", e.Name())
		}
	}
}

// TestDiskErrorWhileWriting: an upload that fills the disk as it is
// written is told so (ErrNoSpace, 507), not "cut off".
func TestDiskErrorWhileWriting(t *testing.T) {
	h := newTestHandler(t, unreachable())
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	_, err = io.Copy(full, strings.NewReader("audio"))
	if got := h.diskError(err); !errors.Is(got, job.ErrNoSpace) {
		t.Fatalf("diskError(%v) = %v, want job.ErrNoSpace", err, got)
	}
	if got := h.diskError(os.ErrPermission); errors.Is(got, job.ErrNoSpace) {
		t.Fatal("a permission error was reported as a full disk")
	}
}

// TestHealthzReportsDiskAndCaches: a low disk makes /healthz say so, and
// asking many times costs one upstream request.
func TestHealthzReportsDiskAndCaches(t *testing.T) {
	var calls atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data":[]}`)
	}))
	defer upstream.Close()
	h := newTestHandler(t, deepscript.New(upstream.URL, "key", nil))
	h.Free = func(string) (uint64, error) { return 1 << 20, nil }
	h.cfg.MinFreeBytes = 64 << 20
	routes := h.Routes()
	for range 20 {
		rec := httptest.NewRecorder()
		routes.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if got, want := rec.Code, http.StatusServiceUnavailable; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
		if got, want := rec.Body.String(), `{"disk":"low","store":"ok","upstream":"ok"}`+"\n"; got != want {
			t.Fatalf("body %q, want %q", got, want)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("20 health checks made %d upstream requests, want 1", got)
	}
}

// TestUpstreamDownBanner: once a call finds the upstream unreachable,
// pages say so and that uploads will go when it is back.
func TestUpstreamDownBanner(t *testing.T) {
	h := newTestHandler(t, unreachable()) // nothing listens there
	routes := h.Routes()
	cookie := userCookie(t, h, "ada@example.com")
	page := func() string {
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		routes.ServeHTTP(rec, req)
		return rec.Body.String()
	}
	if strings.Contains(page(), `data-testid="upstream-down"`) {
		t.Fatal("banner shown before any call failed")
	}
	h.Client.ListWebhooks(context.Background())
	if body := page(); !strings.Contains(body, `data-testid="upstream-down"`) || !strings.Contains(body, "will start as soon as it is back") {
		t.Fatal("no upstream-down banner after a failed call")
	}
}
