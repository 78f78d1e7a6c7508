package engine

import (
	"bytes"
	"errors"
	"math"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"scribe/deepscript"
)

func TestAuth(t *testing.T) {
	e := startEngine(t, nil)
	paths := []struct{ method, path string }{
		{http.MethodPost, "/v1/transcriptions"},
		{http.MethodGet, "/v1/transcriptions/tr_0000000000000000"},
		{http.MethodGet, "/v1/transcriptions/tr_0000000000000000/status"},
		{http.MethodGet, "/v1/transcriptions/tr_0000000000000000/events"},
		{http.MethodDelete, "/v1/transcriptions/tr_0000000000000000"},
		{http.MethodPost, "/v1/webhooks"},
		{http.MethodGet, "/v1/webhooks"},
		{http.MethodDelete, "/v1/webhooks/we_0000000000000000"},
		{http.MethodGet, "/v1/nothing"},
	}
	for name, auth := range map[string]string{
		"Missing":     "",
		"Wrong":       "Bearer sk_wrong",
		"WrongScheme": "Basic " + testAPIKey,
		"Prefix":      "Bearer " + testAPIKey[:len(testAPIKey)-1],
	} {
		t.Run(name, func(t *testing.T) {
			for _, p := range paths {
				req, _ := http.NewRequest(p.method, e.URL()+p.path, nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var body bytes.Buffer
				body.ReadFrom(resp.Body)
				resp.Body.Close()
				if got, want := resp.StatusCode, http.StatusUnauthorized; got != want {
					t.Errorf("%s %s: status %d, want %d", p.method, p.path, got, want)
				}
				if got, want := errorCode(t, body.Bytes()), deepscript.CodeUnauthorized; got != want {
					t.Errorf("%s %s: code %q, want %q", p.method, p.path, got, want)
				}
			}
		})
	}
}

func TestCreateTranscription(t *testing.T) { onBothBackends(t, testCreateTranscription) }

func testCreateTranscription(t *testing.T) {
	e := startEngine(t, nil)
	before := time.Now().Add(-time.Second)
	status, body := e.submit(clips.short, map[string]string{"metadata": "meeting 7", "language": "en-US"}, nil)
	if status != http.StatusCreated {
		t.Fatalf("status %d, body %s", status, body)
	}
	tr := decode[deepscript.Transcription](t, body)
	if !strings.HasPrefix(tr.ID, "tr_") || len(tr.ID) != 19 {
		t.Errorf("id %q, want tr_ and 16 hex", tr.ID)
	}
	if got, want := tr.Status, deepscript.StatusQueued; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
	if tr.Progress != 0 || tr.Error != nil || tr.Result != nil {
		t.Errorf("new job: progress %v error %v result %v, want 0, nil, nil", tr.Progress, tr.Error, tr.Result)
	}
	if tr.Duration == nil || *tr.Duration < 1 || *tr.Duration > 5 {
		t.Errorf("duration %v, want the probed ~2-3 s", tr.Duration)
	}
	if got, want := tr.Language, "en-US"; got != want {
		t.Errorf("language %q, want %q", got, want)
	}
	if got, want := tr.Metadata, "meeting 7"; got != want {
		t.Errorf("metadata %q, want %q", got, want)
	}
	if tr.CreatedAt.Before(before) || tr.CreatedAt.Location() != time.UTC {
		t.Errorf("created_at %v, want recent UTC", tr.CreatedAt)
	}
	if !bytes.Contains(body, []byte(`"result":null`)) || !bytes.Contains(body, []byte(`"error":null`)) {
		t.Errorf("body %s: want explicit null result and error", body)
	}

	done := e.waitStatus(tr.ID, deepscript.StatusCompleted, 10*time.Second)
	if done.Result == nil || done.Result.Text != "hello world" || done.Progress != 1 {
		t.Fatalf("completed: %+v result %+v", done, done.Result)
	}
	if got, want := done.Result.Language, "en-US"; got != want {
		t.Errorf("result language %q, want %q", got, want)
	}
	if math.Abs(done.Result.Duration-*tr.Duration) > 0.2 || *done.Duration != done.Result.Duration {
		t.Errorf("durations: result %v, job %v, probed %v", done.Result.Duration, *done.Duration, *tr.Duration)
	}
	st := e.transcription(tr.ID, false)
	if st.Result != nil || st.Status != deepscript.StatusCompleted {
		t.Errorf("/status: %+v, want completed without result", st)
	}
	if !st.UpdatedAt.After(st.CreatedAt) && !st.UpdatedAt.Equal(st.CreatedAt) {
		t.Errorf("updated_at %v before created_at %v", st.UpdatedAt, st.CreatedAt)
	}
	// MP3 and other formats go through ffmpeg too.
	mp3 := e.mustSubmit(clips.shortMP3, nil)
	e.waitStatus(mp3.ID, deepscript.StatusCompleted, 10*time.Second)
}

func TestCreateTranscriptionBadInput(t *testing.T) {
	e := startEngine(t, func(c *Config) { c.MaxUploadBytes = 64 << 10 })
	big := filepath.Join(t.TempDir(), "big.wav")
	if err := os.WriteFile(big, bytes.Repeat([]byte{1}, 200<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty.wav")
	os.WriteFile(empty, nil, 0o600)
	small := filepath.Join(t.TempDir(), "small.wav") // under the 64 KiB limit
	if err := runCmd("ffmpeg", "-nostdin", "-v", "error", "-i", clips.short, "-ar", "8000", "-t", "2", small); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		file   string
		fields map[string]string
		header http.Header
		raw    func() (string, []byte) // content type and body, instead of a form
		status int
		code   string
	}{
		{name: "NotAudio", file: clips.notAudio, status: 415, code: deepscript.CodeUnsupportedMedia},
		{name: "Empty", file: empty, status: 400, code: deepscript.CodeInvalidRequest},
		{name: "TooLarge", file: big, status: 413, code: deepscript.CodeFileTooLarge},
		{name: "MissingFile", fields: map[string]string{"language": "en"}, status: 400, code: deepscript.CodeInvalidRequest},
		{name: "NotMultipart", raw: func() (string, []byte) { return "application/json", []byte(`{"file":"x"}`) }, status: 400, code: deepscript.CodeInvalidRequest},
		{name: "BrokenMultipart", raw: func() (string, []byte) {
			return "multipart/form-data; boundary=xyz", []byte("--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF")
		}, status: 400, code: deepscript.CodeInvalidRequest},
		{name: "MetadataTooLong", file: small, fields: map[string]string{"metadata": strings.Repeat("m", 513)}, status: 400, code: deepscript.CodeInvalidRequest},
		{name: "BadLanguage", file: small, fields: map[string]string{"language": "english please"}, status: 400, code: deepscript.CodeInvalidRequest},
		{name: "LongIdempotencyKey", file: small, header: http.Header{"Idempotency-Key": {strings.Repeat("k", 256)}}, status: 400, code: deepscript.CodeInvalidRequest},
		{name: "UnregisteredWebhookURL", file: small, fields: map[string]string{"webhook_url": "https://example.com/hook"}, status: 422, code: deepscript.CodeInvalidWebhookURL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var status int
			var body []byte
			if c.raw != nil {
				ct, b := c.raw()
				status, body = e.request(http.MethodPost, "/v1/transcriptions", bytes.NewReader(b), http.Header{"Content-Type": {ct}})
			} else {
				status, body = e.submit(c.file, c.fields, c.header)
			}
			if status != c.status {
				t.Fatalf("status %d, want %d; body %s", status, c.status, body)
			}
			if got := errorCode(t, body); got != c.code {
				t.Errorf("code %q, want %q", got, c.code)
			}
			if msg := decode[deepscript.ErrorResponse](t, body).Error.Message; msg == "" {
				t.Error("empty error message")
			}
			if files := e.audioFiles(); len(files) != 0 {
				t.Errorf("audio left on disk after a refused upload: %v", files)
			}
		})
	}
	t.Run("NothingLost", func(t *testing.T) {
		tr := e.mustSubmit(small, map[string]string{"metadata": strings.Repeat("m", 512)})
		e.waitStatus(tr.ID, deepscript.StatusCompleted, 10*time.Second)
	})
}

func TestUnknownIDsAndRoutes(t *testing.T) { onBothBackends(t, testUnknownIDsAndRoutes) }

func testUnknownIDsAndRoutes(t *testing.T) {
	e := startEngine(t, nil)
	for _, p := range []struct{ method, path, code string }{
		{http.MethodGet, "/v1/transcriptions/tr_0123456789abcdef", deepscript.CodeNotFound},
		{http.MethodGet, "/v1/transcriptions/tr_0123456789abcdef/status", deepscript.CodeNotFound},
		{http.MethodGet, "/v1/transcriptions/tr_0123456789abcdef/events", deepscript.CodeNotFound},
		{http.MethodDelete, "/v1/transcriptions/tr_0123456789abcdef", deepscript.CodeNotFound},
		{http.MethodDelete, "/v1/webhooks/we_0123456789abcdef", deepscript.CodeNotFound},
		{http.MethodGet, "/v1/transcriptions", deepscript.CodeNotFound},
		{http.MethodGet, "/v2/anything", deepscript.CodeNotFound},
	} {
		status, body := e.request(p.method, p.path, nil, nil)
		if status != http.StatusNotFound || errorCode(t, body) != p.code {
			t.Errorf("%s %s: %d %s, want 404 %s", p.method, p.path, status, body, p.code)
		}
	}
}

func TestDeleteTranscription(t *testing.T) { onBothBackends(t, testDeleteTranscription) }

func testDeleteTranscription(t *testing.T) {
	t.Run("Completed", func(t *testing.T) {
		e := startEngine(t, nil)
		tr := e.mustSubmit(clips.short, nil)
		e.waitStatus(tr.ID, deepscript.StatusCompleted, 10*time.Second)
		if got := e.audioFiles(); len(got) != 1 || got[0] != tr.ID {
			t.Fatalf("audio files %v, want [%s]", got, tr.ID)
		}
		if status, body := e.request(http.MethodDelete, "/v1/transcriptions/"+tr.ID, nil, nil); status != http.StatusNoContent || len(body) != 0 {
			t.Fatalf("DELETE: %d %s, want 204 and no body", status, body)
		}
		for _, path := range []string{"", "/status", "/events"} {
			if status, _ := e.request(http.MethodGet, "/v1/transcriptions/"+tr.ID+path, nil, nil); status != http.StatusNotFound {
				t.Errorf("GET %s after delete: %d, want 404", path, status)
			}
		}
		if status, _ := e.request(http.MethodDelete, "/v1/transcriptions/"+tr.ID, nil, nil); status != http.StatusNotFound {
			t.Errorf("second DELETE: %d, want 404", status)
		}
		if got := e.audioFiles(); len(got) != 0 {
			t.Errorf("audio files after delete: %v", got)
		}
	})
	t.Run("WhileProcessing", func(t *testing.T) {
		rec := &scripted{gate: make(chan struct{})}
		e := startEngine(t, func(c *Config) { c.Recognizer = rec })
		rc := newReceiver(t)
		ep := e.registerWebhook(rc.URL, deepscript.EventCompleted, deepscript.EventFailed)
		rc.setSecret(ep.Secret)
		tr := e.mustSubmit(clips.short, map[string]string{"webhook_url": rc.URL})
		e.waitStatus(tr.ID, deepscript.StatusProcessing, 5*time.Second)
		events := make(chan sseStreamResult, 1)
		go func() { events <- e.readEvents(tr.ID, "", 5*time.Second, nil) }()
		time.Sleep(50 * time.Millisecond)
		if status, _ := e.request(http.MethodDelete, "/v1/transcriptions/"+tr.ID, nil, nil); status != http.StatusNoContent {
			t.Fatalf("DELETE: %d, want 204", status)
		}
		res := <-events // the stream ends with the job
		for _, ev := range res.Events {
			if ev.Data.Status.Final() {
				t.Errorf("event after delete: %+v", ev)
			}
		}
		close(rec.gate)
		// The worker is free again and the next job runs.
		next := e.mustSubmit(clips.other, nil)
		e.waitStatus(next.ID, deepscript.StatusCompleted, 5*time.Second)
		if got := e.audioFiles(); len(got) != 1 || got[0] != next.ID {
			t.Errorf("audio files %v, want only %s", got, next.ID)
		}
		if got := rc.deliveries(); len(got) != 0 {
			t.Errorf("webhooks for a deleted job: %+v", got)
		}
	})
}

func TestIdempotencyKey(t *testing.T) { onBothBackends(t, testIdempotencyKey) }

func testIdempotencyKey(t *testing.T) {
	clock := &testClock{}
	e := startEngine(t, func(c *Config) { c.Now = clock.Now })
	key := http.Header{"Idempotency-Key": {"upload-42"}}
	status, body := e.submit(clips.short, nil, key)
	if status != http.StatusCreated {
		t.Fatalf("first submit: %d %s", status, body)
	}
	first := decode[deepscript.Transcription](t, body)

	t.Run("SameFile", func(t *testing.T) {
		status, body := e.submit(clips.short, map[string]string{"metadata": "retry"}, key)
		if status != http.StatusOK {
			t.Fatalf("retry: %d %s, want 200", status, body)
		}
		if got := decode[deepscript.Transcription](t, body).ID; got != first.ID {
			t.Errorf("retry id %s, want %s", got, first.ID)
		}
		if got := e.audioFiles(); len(got) != 1 {
			t.Errorf("audio files %v, want only the first upload", got)
		}
	})
	t.Run("DifferentFile", func(t *testing.T) {
		status, body := e.submit(clips.other, nil, key)
		if status != http.StatusConflict || errorCode(t, body) != deepscript.CodeConflict {
			t.Errorf("other file, same key: %d %s, want 409 conflict", status, body)
		}
	})
	t.Run("OtherKey", func(t *testing.T) {
		status, body := e.submit(clips.short, nil, http.Header{"Idempotency-Key": {"upload-43"}})
		if status != http.StatusCreated || decode[deepscript.Transcription](t, body).ID == first.ID {
			t.Errorf("other key: %d %s, want 201 with a new id", status, body)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		clock.Advance(25 * time.Hour)
		status, body := e.submit(clips.other, nil, key)
		if status != http.StatusCreated || decode[deepscript.Transcription](t, body).ID == first.ID {
			t.Errorf("after 25 h: %d %s, want 201 with a new id", status, body)
		}
	})
}

// runCmd runs a command, returning its output in the error.
func runCmd(name string, args ...string) error {
	out, err := osexec.Command(name, args...).CombinedOutput()
	if err != nil {
		return errors.Join(err, errors.New(string(out)))
	}
	return nil
}

// testClock is a clock tests move forward.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
