package handlers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"scribe/deepscript"
	"scribe/job"
	"scribe/store"
)

// signedWebhook builds a delivery of body signed with secret, as the
// upstream sends it.
func signedWebhook(t testing.TB, secret, msgID, body string) *http.Request {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sig, err := wh.Sign(msgID, now, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/webhooks/deepscript", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	return req
}

// submittedJobFor records a user's job the upstream knows as upstreamID,
// and the webhook secret; it returns the secret.
func submittedJobFor(t testing.TB, s *store.Store, upstreamID string) string {
	t.Helper()
	ctx := context.Background()
	u, err := s.CreateUser(ctx, "ada@example.com", []byte("hash"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.CreateJob(ctx, job.Job{ID: "j_1", UserID: u.ID, Filename: "a.wav", AudioPath: "/x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkSubmitted(ctx, j.ID, upstreamID); err != nil {
		t.Fatal(err)
	}
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef01234567"))
	if err := s.SetWebhookEndpoint(ctx, store.WebhookEndpoint{ID: "ep_1", URL: "http://example.test/webhooks/deepscript", Secret: secret}); err != nil {
		t.Fatal(err)
	}
	return secret
}

// TestWebhookAnswersInTime sends a completed event without its result
// while the upstream's GET hangs: the receiver must still answer (503, so
// the upstream retries) well within the contract's 15 s.
func TestWebhookAnswersInTime(t *testing.T) {
	defer func(d time.Duration) { webhookDeadline = d }(webhookDeadline)
	webhookDeadline = 300 * time.Millisecond
	stop := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer hanging.Close()
	defer close(stop)
	h := newTestHandler(t, hanging.URL)
	h.Client.CallTimeout = 5 * time.Second // the default 30 s, shortened so a failure ends sooner
	secret := submittedJobFor(t, h.Store, "tr_1")

	req := signedWebhook(t, secret, "msg_1", `{"event":"transcription.completed","id":"tr_1","created_at":"2026-11-27T08:00:00Z"}`)
	rec := httptest.NewRecorder()
	start := time.Now()
	h.Routes().ServeHTTP(rec, req)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("answered after %v; want within the webhook deadline", took)
	}
	if got, want := rec.Code, http.StatusServiceUnavailable; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, rec.Body)
	}
}

// BenchmarkWebhookReceive measures the receiver's whole path for a valid,
// new delivery: read, verify the signature, dedupe, apply (a no-op after the
// first, the job being final), commit the receipt, answer.
func BenchmarkWebhookReceive(b *testing.B) {
	h := newTestHandler(b, "http://127.0.0.1:1")
	secret := submittedJobFor(b, h.Store, "tr_1")
	routes := h.Routes()
	body := `{"event":"transcription.completed","id":"tr_1","created_at":"2026-11-27T08:00:00Z",` +
		`"result":{"text":"hello world","language":"en","duration":1.5,"segments":[{"start":0,"end":1.5,"text":"hello world","words":[]}]}}`
	b.ResetTimer()
	for i := range b.N {
		req := signedWebhook(b, secret, "msg_"+strconv.Itoa(i), body)
		w := httptest.NewRecorder()
		routes.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("delivery %d: %d %s", i, w.Code, w.Body)
		}
	}
}

// TestWebhookBeforeCreateAnswer delivers a job's webhook before the app has
// recorded the upstream id (the create answer was lost or is still on its
// way): the upstream echoes the job's submit key as metadata, so the job is
// adopted and completes at once; a stranger's job is acknowledged and ignored.
func TestWebhookBeforeCreateAnswer(t *testing.T) {
	ctx := context.Background()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		meta := map[string]string{"/v1/transcriptions/tr_ours": "j_2", "/v1/transcriptions/tr_theirs": "someone-else"}[r.URL.Path]
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(deepscript.Transcription{ID: strings.TrimPrefix(r.URL.Path, "/v1/transcriptions/"),
			Status: deepscript.StatusCompleted, Progress: 1, Metadata: meta, Result: &deepscript.Result{Text: "hi"}})
	}))
	defer upstream.Close()
	h := newTestHandler(t, upstream.URL)
	secret := submittedJobFor(t, h.Store, "tr_other")
	u, err := h.Store.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	waiting, err := h.Store.CreateJob(ctx, job.Job{ID: "j_2", UserID: u.ID, Filename: "b.wav", AudioPath: "/y"})
	if err != nil {
		t.Fatal(err)
	}
	routes := h.Routes()
	deliver := func(msgID, upstreamID string) int {
		body := `{"event":"transcription.completed","id":"` + upstreamID + `","created_at":"2026-11-27T08:00:00Z","result":{"text":"hi","segments":[]}}`
		w := httptest.NewRecorder()
		routes.ServeHTTP(w, signedWebhook(t, secret, msgID, body))
		return w.Code
	}

	t.Run("Ours", func(t *testing.T) {
		if got := deliver("msg_1", "tr_ours"); got != http.StatusOK {
			t.Fatalf("status %d, want 200", got)
		}
		j, err := h.Store.Job(ctx, u.ID, waiting.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.UpstreamID != "tr_ours" || j.Status != job.StatusCompleted || j.CompletedVia != job.ViaWebhook {
			t.Fatalf("job = upstream %q, %s via %q; want tr_ours, completed via webhook", j.UpstreamID, j.Status, j.CompletedVia)
		}
	})
	t.Run("Stranger", func(t *testing.T) {
		if got := deliver("msg_2", "tr_theirs"); got != http.StatusOK {
			t.Fatalf("status %d, want 200", got)
		}
		if _, err := h.Store.JobByUpstreamID(ctx, "tr_theirs"); err == nil {
			t.Fatal("a stranger's transcription was attached to one of our jobs")
		}
	})
}
