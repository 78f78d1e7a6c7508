package handlers

import (
	dto "github.com/prometheus/client_model/go"

	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
	"scribe/job"
	"scribe/store"
	"scribe/store/storetest"
)

// webhookRequest is a delivery of body signed with secret at time at, as
// the upstream sends it.
func webhookRequest(t testing.TB, secret, msgID string, at time.Time, body []byte) *http.Request {
	t.Helper()
	h, err := deepscripttest.WebhookHeaders(secret, msgID, at, body)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/webhooks/deepscript", strings.NewReader(string(body)))
	req.Header = h
	return req
}

// registerWebhook records the endpoint the upstream delivers to and
// returns its secret.
func registerWebhook(t testing.TB, s *store.Store) string {
	t.Helper()
	secret := deepscripttest.NewSecret()
	if err := s.SetWebhookEndpoint(context.Background(), store.WebhookEndpoint{ID: "we_1",
		URL: "http://app.example/webhooks/deepscript", Secret: secret}); err != nil {
		t.Fatal(err)
	}
	return secret
}

// TestWebhookReceiver sends deliveries to POST /webhooks/deepscript and
// checks what each answers and what it may and may not change.
func TestWebhookReceiver(t *testing.T) {
	ctx := context.Background()
	fake := deepscripttest.NewServer(t)
	h := newTestHandler(t, fake.Client())
	secret := registerWebhook(t, h.Store)
	ada := storetest.User(t, h.Store, "ada@example.com")
	held := storetest.SubmittedJob(t, h.Store, ada, "j_held", "tr_held")
	ok := storetest.SubmittedJob(t, h.Store, ada, "j_ok", "tr_ok")
	cookie := signedIn(t, h, ada)

	// encode is ev as a delivery's body.
	encode := func(t *testing.T, ev deepscript.WebhookEvent) []byte {
		t.Helper()
		body, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		return body
	}
	deliver := func(t *testing.T, msgID string, ev deepscript.WebhookEvent) *httptest.ResponseRecorder {
		t.Helper()
		return serve(h, webhookRequest(t, secret, msgID, time.Now(), encode(t, ev)), nil)
	}
	answer := func(t *testing.T, rec *httptest.ResponseRecorder, status int, message string) {
		t.Helper()
		if rec.Code != status || !strings.Contains(rec.Body.String(), message) {
			t.Fatalf("answer %d %s, want %d with %q", rec.Code, rec.Body, status, message)
		}
	}
	stored := func(t *testing.T, id string) job.Job {
		t.Helper()
		j, err := h.Store.Job(ctx, ada.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	// unchanged checks the held job is as it was.
	unchanged := func(t *testing.T) {
		t.Helper()
		if got := stored(t, held.ID); got.Seq != held.Seq || got.Status != held.Status {
			t.Errorf("held job changed: %s (seq %d), was %s (seq %d)", got.Status, got.Seq, held.Status, held.Seq)
		}
	}
	failHeld := deepscript.WebhookEvent{Event: deepscript.EventFailed, ID: "tr_held", CreatedAt: time.Now().UTC(),
		Error: &deepscript.ErrorBody{Code: "internal", Message: "genuine failure"}}
	result := deepscripttest.Result("ok", 2)
	completeOK := deepscript.WebhookEvent{Event: deepscript.EventCompleted, ID: "tr_ok", CreatedAt: time.Now().UTC(), Result: result}

	t.Run("OK", func(t *testing.T) {
		answer(t, deliver(t, "msg_ok", completeOK), http.StatusOK, "ok")
		j := stored(t, ok.ID)
		if j.Status != job.StatusCompleted || j.CompletedVia != job.ViaWebhook {
			t.Fatalf("job %s via %q, want completed via webhook", j.Status, j.CompletedVia)
		}
		if r, err := h.Store.Result(ctx, ok.ID); err != nil || r.Text != result.Text {
			t.Fatalf("result %+v, %v; want %q", r, err, result.Text)
		}
	})
	t.Run("DuplicateID", func(t *testing.T) {
		before := stored(t, ok.ID)
		answer(t, deliver(t, "msg_ok", completeOK), http.StatusOK, "already handled")
		// The same webhook-id with another body is taken as handled too.
		answer(t, deliver(t, "msg_ok", failHeld), http.StatusOK, "already handled")
		if got := stored(t, ok.ID); got.Seq != before.Seq {
			t.Errorf("job changed on a repeated delivery: seq %d, was %d", got.Seq, before.Seq)
		}
		unchanged(t)
	})
	refused := 0
	for _, tc := range []struct {
		name    string
		request func(msgID string, body []byte) *http.Request
	}{
		{"ForgedSignature", func(msgID string, body []byte) *http.Request {
			return webhookRequest(t, deepscripttest.NewSecret(), msgID, time.Now(), body)
		}},
		{"StaleTimestamp", func(msgID string, body []byte) *http.Request {
			return webhookRequest(t, secret, msgID, time.Now().Add(-deepscript.WebhookTolerance-10*time.Second), body)
		}},
		{"FutureTimestamp", func(msgID string, body []byte) *http.Request {
			return webhookRequest(t, secret, msgID, time.Now().Add(deepscript.WebhookTolerance+10*time.Second), body)
		}},
		{"TamperedBody", func(msgID string, body []byte) *http.Request {
			r := webhookRequest(t, secret, msgID, time.Now(), body)
			tampered := strings.Replace(string(body), "genuine", "tampered", 1)
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(tampered)), int64(len(tampered))
			return r
		}},
		{"NoSignature", func(msgID string, body []byte) *http.Request {
			r := webhookRequest(t, secret, msgID, time.Now(), body)
			r.Header.Del("webhook-signature")
			return r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer(t, serve(h, tc.request("msg_"+tc.name, encode(t, failHeld)), nil), http.StatusUnauthorized, "invalid signature")
			refused++
			unchanged(t)
			var m dto.Metric
			if err := h.Metrics.WebhooksReceived.WithLabelValues("rejected").Write(&m); err != nil {
				t.Fatal(err)
			}
			if got, want := int(m.GetCounter().GetValue()), refused; got != want {
				t.Errorf("%d rejected webhooks counted, want %d", got, want)
			}
		})
	}
	t.Run("OversizedBody", func(t *testing.T) {
		r := webhookRequest(t, secret, "msg_oversized", time.Now(), encode(t, failHeld))
		r.Body = io.NopCloser(io.MultiReader(r.Body, strings.NewReader(strings.Repeat(" ", maxWebhookBytes))))
		answer(t, serve(h, r, nil), http.StatusRequestEntityTooLarge, "too large")
		unchanged(t)
	})
	t.Run("Malformed", func(t *testing.T) {
		answer(t, serve(h, webhookRequest(t, secret, "msg_malformed", time.Now(), []byte(`{"event":`)), nil),
			http.StatusBadRequest, "malformed")
		unchanged(t)
	})
	t.Run("UnknownTranscription", func(t *testing.T) {
		ev := completeOK
		ev.ID = "tr_0000000000000bad"
		answer(t, deliver(t, "msg_unknown", ev), http.StatusOK, "unknown transcription")
		unchanged(t)
	})
	t.Run("OtherEvent", func(t *testing.T) {
		ev := deepscript.WebhookEvent{Event: deepscript.EventProgress, ID: "tr_held", CreatedAt: time.Now().UTC()}
		answer(t, deliver(t, "msg_progress", ev), http.StatusOK, "ignored")
		unchanged(t)
	})
	t.Run("BalanceLow", func(t *testing.T) {
		home := func() string { return serve(h, httptest.NewRequest("GET", "/", nil), cookie).Body.String() }
		if strings.Contains(home(), `data-testid="balance-low"`) {
			t.Fatal("home page warns of a low balance before any balance.low event")
		}
		ev := deepscript.WebhookEvent{Event: deepscript.EventBalanceLow, CreatedAt: time.Now().UTC(),
			Balance: &deepscript.Balance{RemainingSeconds: 540, ThresholdSeconds: 600}}
		answer(t, deliver(t, "msg_balance", ev), http.StatusOK, "ok")
		if !strings.Contains(home(), `data-testid="balance-low"`) {
			t.Error("home page has no balance-low warning after balance.low")
		}
	})
	t.Run("ResultMissing", func(t *testing.T) {
		// A completed event without its transcript: the receiver fetches it.
		tr := fake.Create(t, "fetched.wav", "j_fetched")
		j := storetest.SubmittedJob(t, h.Store, ada, "j_fetched", tr.ID)
		var up deepscripttest.Job
		for deadline := time.Now().Add(5 * time.Second); !up.Status.Final(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("upstream job not final within 5 s: %+v", up)
			}
			up, _ = fake.JobByKey("j_fetched")
		}
		ev := deepscript.WebhookEvent{Event: deepscript.EventCompleted, ID: tr.ID, CreatedAt: time.Now().UTC()}
		answer(t, deliver(t, "msg_fetched", ev), http.StatusOK, "ok")
		if got := stored(t, j.ID); got.Status != job.StatusCompleted {
			t.Fatalf("job %s, want completed", got.Status)
		}
		if r, err := h.Store.Result(ctx, j.ID); err != nil || r.Text != up.Result.Text {
			t.Fatalf("result %+v, %v; want the upstream's %q", r, err, up.Result.Text)
		}
	})
	t.Run("GenuineAfterRefusals", func(t *testing.T) {
		// A refused delivery must not use up its webhook-id: the genuine
		// delivery with the id a forger sent first still lands.
		answer(t, deliver(t, "msg_ForgedSignature", failHeld), http.StatusOK, "ok")
		j := stored(t, held.ID)
		if j.Status != job.StatusFailed || !strings.Contains(j.Error, "genuine failure") {
			t.Fatalf("job %s with error %q, want failed with the upstream's message", j.Status, j.Error)
		}
	})
	t.Run("SecretChanged", func(t *testing.T) {
		// A newly registered endpoint's secret takes over at once: the
		// verifier built for the old one is not reused.
		rotated := deepscripttest.NewSecret()
		if err := h.Store.SetWebhookEndpoint(ctx, store.WebhookEndpoint{ID: "we_2",
			URL: "http://app.example/webhooks/deepscript", Secret: rotated}); err != nil {
			t.Fatal(err)
		}
		ev := deepscript.WebhookEvent{Event: deepscript.EventProgress, ID: "tr_held", CreatedAt: time.Now().UTC()}
		answer(t, serve(h, webhookRequest(t, secret, "msg_old_secret", time.Now(), encode(t, ev)), nil),
			http.StatusUnauthorized, "invalid signature")
		answer(t, serve(h, webhookRequest(t, rotated, "msg_new_secret", time.Now(), encode(t, ev)), nil),
			http.StatusOK, "ignored")
	})
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
	c := deepscript.New(hanging.URL, "key", nil)
	c.CallTimeout = 5 * time.Second // the default 30 s, shortened so a failure ends sooner
	h := newTestHandler(t, c)
	secret := registerWebhook(t, h.Store)
	storetest.SubmittedJob(t, h.Store, storetest.User(t, h.Store, "ada@example.com"), "j_1", "tr_1")

	req := webhookRequest(t, secret, "msg_1", time.Now(), []byte(`{"event":"transcription.completed","id":"tr_1","created_at":"2026-11-27T08:00:00Z"}`))
	start := time.Now()
	rec := serve(h, req, nil)
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
	h := newTestHandler(b, unreachable())
	secret := registerWebhook(b, h.Store)
	storetest.SubmittedJob(b, h.Store, storetest.User(b, h.Store, "ada@example.com"), "j_1", "tr_1")
	routes := h.Routes()
	body := []byte(`{"event":"transcription.completed","id":"tr_1","created_at":"2026-11-27T08:00:00Z",` +
		`"result":{"text":"hello world","language":"en","duration":1.5,"segments":[{"start":0,"end":1.5,"text":"hello world","words":[]}]}}`)
	b.ResetTimer()
	for i := range b.N {
		req := webhookRequest(b, secret, "msg_"+strconv.Itoa(i), time.Now(), body)
		w := httptest.NewRecorder()
		routes.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("delivery %d: %d %s", i, w.Code, w.Body)
		}
	}
}
