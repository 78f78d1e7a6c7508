package deepscript

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"
)

// gateReader blocks its first Read until open is closed, so a test can tell
// whether the client sent the start of a file before reading all of it.
type gateReader struct {
	open <-chan struct{}
	r    io.Reader
}

func (g *gateReader) Read(p []byte) (int, error) {
	select {
	case <-g.open:
	case <-time.After(5 * time.Second):
		return 0, errors.New("gate never opened: the client buffered the file")
	}
	return g.r.Read(p)
}

func newTestClient(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() { waitGoroutines(t, base) })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := New(srv.URL+"/", "sk_test", nil)
	t.Cleanup(c.http.CloseIdleConnections)
	c.Logger = nil
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func TestCreateTranscription(t *testing.T) {
	t.Run("StreamsMultipartWithHeaders", func(t *testing.T) {
		audio := make([]byte, 3<<20)
		rnd := rand.New(rand.NewPCG(1, 2))
		for i := range audio {
			audio[i] = byte(rnd.Uint32())
		}
		const head = 256 << 10
		gate := make(chan struct{})
		file := io.MultiReader(bytes.NewReader(audio[:head]), &gateReader{open: gate, r: bytes.NewReader(audio[head:])})

		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			if got, want := r.Method+" "+r.URL.Path, "POST /v1/transcriptions"; got != want {
				t.Errorf("request = %q, want %q", got, want)
			}
			if got, want := r.Header.Get("Authorization"), "Bearer sk_test"; got != want {
				t.Errorf("Authorization = %q, want %q", got, want)
			}
			if got, want := r.Header.Get("Idempotency-Key"), "idem-42"; got != want {
				t.Errorf("Idempotency-Key = %q, want %q", got, want)
			}
			mr, err := r.MultipartReader()
			if err != nil {
				t.Errorf("MultipartReader: %v", err)
				return
			}
			fields := map[string]string{}
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Errorf("NextPart: %v", err)
					return
				}
				if p.FormName() != "file" {
					b, _ := io.ReadAll(p)
					fields[p.FormName()] = string(b)
					continue
				}
				if got, want := p.FileName(), `talk "1".mp3`; got != want {
					t.Errorf("filename = %q, want %q", got, want)
				}
				// Read the head, then let the client read the rest of the
				// file: a client that buffers would never get here.
				got := make([]byte, head)
				if _, err := io.ReadFull(p, got); err != nil {
					t.Errorf("reading file head: %v", err)
					return
				}
				close(gate)
				rest, err := io.ReadAll(p)
				if err != nil {
					t.Errorf("reading file: %v", err)
				}
				if sha256.Sum256(append(got, rest...)) != sha256.Sum256(audio) {
					t.Errorf("file content differs (%d bytes)", len(got)+len(rest))
				}
			}
			want := map[string]string{"webhook_url": "https://app.example/wh", "language": "fr", "metadata": "job=7"}
			if fmt.Sprint(fields) != fmt.Sprint(want) {
				t.Errorf("fields = %v, want %v", fields, want)
			}
			writeJSON(w, http.StatusCreated, Transcription{ID: "tr_9", Status: StatusQueued, Language: "fr", Metadata: "job=7"})
		})
		tr, err := c.CreateTranscription(t.Context(), CreateRequest{
			File: file, Filename: `talk "1".mp3`, WebhookURL: "https://app.example/wh",
			Language: "fr", Metadata: "job=7", IdempotencyKey: "idem-42",
		})
		if err != nil {
			t.Fatalf("CreateTranscription: %v", err)
		}
		if got, want := tr.ID, "tr_9"; got != want {
			t.Errorf("id = %q, want %q", got, want)
		}
		if got, want := tr.Status, StatusQueued; got != want {
			t.Errorf("status = %q, want %q", got, want)
		}
	})

	t.Run("OmitsEmptyOptionalParts", func(t *testing.T) {
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			if _, ok := r.Header["Idempotency-Key"]; ok {
				t.Errorf("Idempotency-Key sent without a key")
			}
			if err := r.ParseMultipartForm(1 << 20); err != nil {
				t.Errorf("ParseMultipartForm: %v", err)
			}
			for _, f := range []string{"webhook_url", "language", "metadata"} {
				if _, ok := r.MultipartForm.Value[f]; ok {
					t.Errorf("empty field %q sent", f)
				}
			}
			writeJSON(w, http.StatusCreated, Transcription{ID: "tr_1", Status: StatusQueued})
		})
		if _, err := c.CreateTranscription(t.Context(), CreateRequest{File: strings.NewReader("RIFF"), Filename: "a.wav"}); err != nil {
			t.Fatalf("CreateTranscription: %v", err)
		}
	})

	t.Run("ServerRejectsEarly", func(t *testing.T) {
		// The server answers 413 without reading the body; the call must
		// return the APIError and not hang on the unread file.
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusRequestEntityTooLarge, ErrorResponse{Error: ErrorBody{Code: CodeFileTooLarge, Message: "too big"}})
		})
		_, err := c.CreateTranscription(t.Context(), CreateRequest{File: io.LimitReader(zeroReader{}, 64<<20), Filename: "big.wav"})
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			// The server may reset the connection before the client reads
			// its answer; that is a network error, which is fine too.
			var urlErr *url.Error
			if !errors.As(err, &urlErr) {
				t.Fatalf("err = %v, want *APIError 413 or a network error", err)
			}
			return
		}
		if got, want := apiErr.Code, CodeFileTooLarge; got != want {
			t.Errorf("code = %q, want %q", got, want)
		}
		if apiErr.Temporary() {
			t.Errorf("413 reported temporary")
		}
	})

	t.Run("RejectsLongIdempotencyKey", func(t *testing.T) {
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			t.Errorf("request sent")
		})
		_, err := c.CreateTranscription(t.Context(), CreateRequest{File: strings.NewReader("x"), IdempotencyKey: strings.Repeat("k", 256)})
		if err == nil || !strings.HasPrefix(err.Error(), "deepscript: ") {
			t.Errorf("err = %v, want a deepscript: error", err)
		}
	})
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestTranscriptionCalls(t *testing.T) {
	var seen []string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.EscapedPath())
		if got, want := r.Header.Get("Authorization"), "Bearer sk_test"; got != want {
			t.Errorf("Authorization = %q, want %q", got, want)
		}
		switch r.Method + " " + r.URL.Path {
		case "GET /v1/transcriptions/tr_1":
			writeJSON(w, 200, Transcription{ID: "tr_1", Status: StatusCompleted, Result: &Result{Text: "hello"}})
		case "GET /v1/transcriptions/tr_1/status":
			writeJSON(w, 200, Transcription{ID: "tr_1", Status: StatusProcessing, Progress: 0.5})
		case "DELETE /v1/transcriptions/tr_1":
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, 404, ErrorResponse{Error: ErrorBody{Code: CodeNotFound, Message: "no such transcription"}})
		}
	})
	ctx := t.Context()
	tr, err := c.Transcription(ctx, "tr_1")
	if err != nil || tr.Result == nil || tr.Result.Text != "hello" {
		t.Errorf("Transcription = %+v, %v; want result text hello", tr, err)
	}
	st, err := c.Status(ctx, "tr_1")
	if err != nil || st.Progress != 0.5 {
		t.Errorf("Status = %+v, %v; want progress 0.5", st, err)
	}
	if err := c.DeleteTranscription(ctx, "tr_1"); err != nil {
		t.Errorf("DeleteTranscription: %v", err)
	}
	_, err = c.Transcription(ctx, "tr/../x")
	if !IsNotFound(err) {
		t.Errorf("err = %v, want not found", err)
	}
	want := "GET /v1/transcriptions/tr_1 GET /v1/transcriptions/tr_1/status DELETE /v1/transcriptions/tr_1 GET /v1/transcriptions/tr%2F..%2Fx"
	if got := strings.Join(seen, " "); got != want {
		t.Errorf("requests = %q, want %q", got, want)
	}
}

func TestWebhookEndpoints(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.Path {
		case "POST /v1/webhooks":
			if got, want := r.Header.Get("Content-Type"), "application/json"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			var in CreateWebhookRequest
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				t.Errorf("decode: %v", err)
			}
			if in.URL == "https://app.example/dup" {
				writeJSON(w, 409, ErrorResponse{Error: ErrorBody{Code: CodeConflict, Message: "already registered"}})
				return
			}
			writeJSON(w, 201, WebhookEndpoint{ID: "we_1", URL: in.URL, Events: in.Events, Secret: "whsec_abc"})
		case "GET /v1/webhooks":
			writeJSON(w, 200, WebhookEndpointList{Data: []WebhookEndpoint{{ID: "we_1"}, {ID: "we_2"}}})
		case "DELETE /v1/webhooks/we_1":
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, 404, ErrorResponse{Error: ErrorBody{Code: CodeNotFound}})
		}
	})
	ctx := t.Context()
	e, err := c.CreateWebhook(ctx, "https://app.example/wh", []string{EventCompleted, EventFailed})
	if err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	if e.Secret != "whsec_abc" || strings.Join(e.Events, ",") != EventCompleted+","+EventFailed {
		t.Errorf("endpoint = %+v", e)
	}
	if _, err := c.CreateWebhook(ctx, "https://app.example/dup", nil); !IsConflict(err) {
		t.Errorf("err = %v, want conflict", err)
	}
	list, err := c.ListWebhooks(ctx)
	if err != nil || len(list) != 2 || list[1].ID != "we_2" {
		t.Errorf("ListWebhooks = %+v, %v", list, err)
	}
	if err := c.DeleteWebhook(ctx, "we_1"); err != nil {
		t.Errorf("DeleteWebhook: %v", err)
	}
	if err := c.DeleteWebhook(ctx, "we_x"); !IsNotFound(err) {
		t.Errorf("err = %v, want not found", err)
	}
}

func TestAPIError(t *testing.T) {
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		body       string
		want       APIError
		temporary  bool
	}{
		{"RateLimited", 429, "7", `{"error":{"code":"rate_limited","message":"slow down"}}`,
			APIError{429, CodeRateLimited, "slow down", 7 * time.Second}, true},
		{"UnavailableWithDate", 503, now.Add(90 * time.Second).Format(http.TimeFormat), `{"error":{"code":"unavailable","message":"maintenance"}}`,
			APIError{503, CodeUnavailable, "maintenance", 90 * time.Second}, true},
		{"NotJSON", 502, "", "<html>Bad Gateway</html>",
			APIError{502, "", "<html>Bad Gateway</html>", 0}, true},
		{"EmptyBody", 500, "garbage", "",
			APIError{500, "", "", 0}, true},
		{"Conflict", 409, "", `{"error":{"code":"conflict","message":"key reused"}}`,
			APIError{409, CodeConflict, "key reused", 0}, false},
		{"Unauthorized", 401, "", `{"error":{"code":"unauthorized","message":"bad key"}}`,
			APIError{401, CodeUnauthorized, "bad key", 0}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			c.Now = func() time.Time { return now }
			_, err := c.Status(t.Context(), "tr_1")
			var got *APIError
			if !errors.As(err, &got) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if *got != tc.want {
				t.Errorf("APIError = %+v, want %+v", *got, tc.want)
			}
			if got, want := got.Temporary(), tc.temporary; got != want {
				t.Errorf("Temporary() = %v, want %v", got, want)
			}
			if !strings.HasPrefix(err.Error(), "deepscript: ") {
				t.Errorf("message %q lacks prefix", err)
			}
		})
	}
}
