package handlers

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"scribe/media"
	"scribe/media/mediatest"
	"scribe/store/storetest"
)

// TestUploadErrors posts files that must be refused, with the real ffprobe
// deciding what is audio, and the form a page without JavaScript posts.
func TestUploadErrors(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, unreachable())
	h.Probe = media.Probe
	h.cfg.MaxUploadBytes = 200000
	cookie := signedIn(t, h, storetest.User(t, h.Store, "ada@example.com"))
	tone, err := os.ReadFile(mediatest.Tone(t, t.TempDir(), "tone.wav", 440))
	if err != nil {
		t.Fatal(err)
	}
	good := [2]string{"tone.wav", string(tone)}
	notes := [2]string{"notes.txt", "these are not sounds\n"}
	upload := func(json bool, files ...[2]string) *httptest.ResponseRecorder {
		ctype, body := multipartFiles(t, files...)
		req := httptest.NewRequest("POST", "/jobs", body)
		req.Header.Set("Content-Type", ctype)
		if json {
			req.Header.Set("Accept", "application/json")
		}
		return serve(h, req, cookie)
	}

	for _, tc := range []struct {
		name    string
		file    [2]string
		want    int
		message string
	}{
		{"NotAudio", notes, http.StatusUnsupportedMediaType, "does not look like audio"},
		{"Empty", [2]string{"empty.wav", ""}, http.StatusBadRequest, "empty"},
		{"TooLarge", [2]string{"big.wav", strings.Repeat("\x00", 300000)}, http.StatusRequestEntityTooLarge, "larger than"},
		{"Truncated", [2]string{"cut.mp3", "ID3\x03\x00\x00\x00\x00\x00\x00\xff\xfb"}, http.StatusUnsupportedMediaType, "does not look like audio"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := upload(true, tc.file)
			if rec.Code != tc.want || !strings.Contains(rec.Body.String(), tc.message) {
				t.Fatalf("got %d %s; want %d with %q", rec.Code, rec.Body, tc.want, tc.message)
			}
		})
	}
	t.Run("NoFile", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/jobs", strings.NewReader("--x--\r\n"))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
		req.Header.Set("Accept", "application/json")
		if rec := serve(h, req, cookie); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Choose an audio file") {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("CrossOrigin", func(t *testing.T) {
		ctype, body := multipartFiles(t, good)
		req := httptest.NewRequest("POST", "/jobs", body)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if rec := serve(h, req, cookie); rec.Code != http.StatusForbidden {
			t.Fatalf("cross-site POST: %d, want 403", rec.Code)
		}
	})
	t.Run("NothingStored", func(t *testing.T) {
		entries, err := os.ReadDir(h.cfg.UploadDir)
		if err != nil || len(entries) != 0 {
			t.Fatalf("rejected uploads left %d files (%v)", len(entries), err)
		}
	})
	t.Run("FormWithoutJavaScript", func(t *testing.T) {
		rec := upload(false, good, good)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
			t.Fatalf("two good files: %d → %q, want 303 to /", rec.Code, rec.Header().Get("Location"))
		}
		rec = upload(false, good)
		if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/jobs/j_") {
			t.Fatalf("one good file: %d → %q, want 303 to its job", rec.Code, loc)
		}
		rec = upload(false, good, notes)
		body := rec.Body.String()
		if rec.Code != http.StatusUnsupportedMediaType || !strings.Contains(body, "notes.txt does not look like audio") {
			t.Fatalf("good and bad file: %d, want 415 naming notes.txt", rec.Code)
		}
		if n := strings.Count(body, `data-testid="job-row"`); n != 4 {
			t.Fatalf("page after a mixed upload lists %d jobs, want 4 (the good file kept)", n)
		}
		entries, err := os.ReadDir(h.cfg.UploadDir)
		if err != nil || len(entries) != 4 {
			t.Fatalf("%d files kept for 4 jobs (%v)", len(entries), err)
		}
	})
}
