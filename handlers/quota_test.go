package handlers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"scribe/store/storetest"
	"strings"
	"testing"
)

// uploadJSON posts files as one upload and decodes the JSON answer.
func uploadJSON(t *testing.T, routes http.Handler, cookie *http.Cookie, names ...string) (int, []jobJSON, []string) {
	t.Helper()
	ctype, body := multipartFiles(t, audioFiles(names...)...)
	req := httptest.NewRequest("POST", "/jobs", body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	routes.ServeHTTP(rec, req)
	var got struct {
		Jobs   []jobJSON `json:"jobs"`
		Errors []string  `json:"errors"`
		Error  string    `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("answer %d %q: %v", rec.Code, rec.Body, err)
	}
	if got.Error != "" {
		got.Errors = append(got.Errors, got.Error)
	}
	return rec.Code, got.Jobs, got.Errors
}

// TestUploadLimits: each per-user limit refuses what is over it with a
// message that names the limit, and takes what is under it.
func TestUploadLimits(t *testing.T) {
	cases := []struct {
		name       string
		limits     Limits
		files      int
		wantStatus int
		wantJobs   int
		wantWords  string
	}{
		{"FilesPerUpload", Limits{FilesPerUpload: 2}, 3, http.StatusCreated, 2, "at most 2 files"},
		{"QueuedPerUser", Limits{QueuedPerUser: 1}, 2, http.StatusCreated, 1, "1 files waiting"},
		{"MaxFileSeconds", Limits{MaxFileSeconds: 0.5}, 1, http.StatusBadRequest, 0, "takes files of up to"},
		{"DailySeconds", Limits{DailySeconds: 1.5}, 2, http.StatusCreated, 1, "of audio a day"},
		{"UnderEvery", Limits{FilesPerUpload: 3, QueuedPerUser: 3, MaxFileSeconds: 2, DailySeconds: 3}, 3, http.StatusCreated, 3, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newTestHandler(t, unreachable()) // every file probes as 1 s of audio
			h.cfg.Limits = c.limits
			routes := h.Routes()
			cookie := userCookie(t, h, "ada@example.com")
			names := []string{"a.wav", "b.wav", "c.wav"}[:c.files]
			status, jobs, errs := uploadJSON(t, routes, cookie, names...)
			if status != c.wantStatus || len(jobs) != c.wantJobs {
				t.Fatalf("status %d with %d jobs (%q), want %d with %d", status, len(jobs), errs, c.wantStatus, c.wantJobs)
			}
			if c.wantWords == "" && len(errs) > 0 {
				t.Fatalf("errors %q, want none", errs)
			}
			if c.wantWords != "" && (len(errs) == 0 || !strings.Contains(errs[0], c.wantWords)) {
				t.Fatalf("errors %q, want one saying %q", errs, c.wantWords)
			}
		})
	}
}

// TestStreamsPerUserLimit: past the limit a user's next event stream is
// refused with 429; another user is not affected.
func TestStreamsPerUserLimit(t *testing.T) {
	h := newTestHandler(t, unreachable())
	h.cfg.Limits.StreamsPerUser = 2
	routes := h.Routes()
	ada, bob := userCookie(t, h, "ada@example.com"), userCookie(t, h, "bob@example.com")
	srv := httptest.NewServer(routes)
	t.Cleanup(srv.Close) // after the streams' bodies close: Close waits for them
	open := func(c *http.Cookie) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/events", nil)
		req.Header.Set("Accept", "text/event-stream")
		req.AddCookie(c)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for i := range 2 {
		if got := open(ada).StatusCode; got != http.StatusOK {
			t.Fatalf("stream %d: %d, want 200", i+1, got)
		}
	}
	if got, want := open(ada).StatusCode, http.StatusTooManyRequests; got != want {
		t.Fatalf("third stream: %d, want %d", got, want)
	}
	if got := open(bob).StatusCode; got != http.StatusOK {
		t.Fatalf("another user's stream: %d, want 200", got)
	}
}

// userCookie signs in a new account with email.
func userCookie(t *testing.T, h *Handler, email string) *http.Cookie {
	t.Helper()
	return signedIn(t, h, storetest.User(t, h.Store, email))
}

// audioFiles are upload parts named names, each holding a few bytes that
// the test handler's probe takes as a second of audio.
func audioFiles(names ...string) [][2]string {
	files := make([][2]string, len(names))
	for i, n := range names {
		files[i] = [2]string{n, "RIFF pretend audio"}
	}
	return files
}
