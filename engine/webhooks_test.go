package engine

import (
	"context"
	"encoding/base64"
	"math"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"scribe/deepscript"
	"scribe/media"
)

func TestWebhookEndpoints(t *testing.T) { onBothBackends(t, testWebhookEndpoints) }

func testWebhookEndpoints(t *testing.T) {
	e := startEngine(t, nil)
	ep := e.registerWebhook("https://app.example/webhooks/deepscript", deepscript.EventCompleted, deepscript.EventFailed, deepscript.EventCompleted)
	t.Run("Created", func(t *testing.T) {
		if !strings.HasPrefix(ep.ID, "we_") {
			t.Errorf("id %q, want we_…", ep.ID)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(ep.Secret, "whsec_"))
		if !strings.HasPrefix(ep.Secret, "whsec_") || err != nil || len(key) < 24 {
			t.Errorf("secret %q: want whsec_ and base64 of 24+ bytes (err %v)", ep.Secret, err)
		}
		if got, want := strings.Join(ep.Events, ","), "transcription.completed,transcription.failed"; got != want {
			t.Errorf("events %q, want %q (deduplicated)", got, want)
		}
		if ep.CreatedAt.IsZero() {
			t.Error("created_at is zero")
		}
	})
	t.Run("Duplicate", func(t *testing.T) {
		status, body := e.postJSON("/v1/webhooks", deepscript.CreateWebhookRequest{URL: ep.URL, Events: []string{deepscript.EventBalanceLow}})
		if status != http.StatusConflict || errorCode(t, body) != deepscript.CodeConflict {
			t.Errorf("duplicate url: %d %s, want 409 conflict", status, body)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		for name, body := range map[string]string{
			"MalformedJSON": `{"url": "https://a.example/x", "events": [`,
			"WrongTypes":    `{"url": 7, "events": "all"}`,
			"TwoValues":     `{"url": "https://a.example/x", "events": ["balance.low"]} {}`,
			"MissingURL":    `{"events": ["balance.low"]}`,
			"RelativeURL":   `{"url": "/hooks", "events": ["balance.low"]}`,
			"FTPURL":        `{"url": "ftp://a.example/x", "events": ["balance.low"]}`,
			"NoEvents":      `{"url": "https://a.example/x", "events": []}`,
			"UnknownEvent":  `{"url": "https://a.example/x", "events": ["transcription.progress"]}`,
			"TooLarge":      `{"url": "https://a.example/x", "events": ["balance.low"], "pad": "` + strings.Repeat("x", 70<<10) + `"}`,
		} {
			status, resp := e.request(http.MethodPost, "/v1/webhooks", strings.NewReader(body), http.Header{"Content-Type": {"application/json"}})
			if status != http.StatusBadRequest || errorCode(t, resp) != deepscript.CodeInvalidRequest {
				t.Errorf("%s: %d %s, want 400 invalid_request", name, status, resp)
			}
		}
	})
	t.Run("List", func(t *testing.T) {
		other := e.registerWebhook("http://127.0.0.1:9/hook", deepscript.EventBalanceLow)
		status, body := e.request(http.MethodGet, "/v1/webhooks", nil, nil)
		if status != http.StatusOK {
			t.Fatalf("list: %d %s", status, body)
		}
		if strings.Contains(string(body), "whsec_") || strings.Contains(string(body), `"secret"`) {
			t.Errorf("list shows secrets: %s", body)
		}
		list := decode[deepscript.WebhookEndpointList](t, body).Data
		if len(list) != 2 || list[0].ID != ep.ID || list[1].ID != other.ID || list[1].URL != other.URL {
			t.Errorf("list %+v, want [%s %s]", list, ep.ID, other.ID)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if status, _ := e.request(http.MethodDelete, "/v1/webhooks/"+ep.ID, nil, nil); status != http.StatusNoContent {
			t.Fatalf("delete: %d, want 204", status)
		}
		if status, _ := e.request(http.MethodDelete, "/v1/webhooks/"+ep.ID, nil, nil); status != http.StatusNotFound {
			t.Errorf("second delete: %d, want 404", status)
		}
		_, body := e.request(http.MethodGet, "/v1/webhooks", nil, nil)
		if list := decode[deepscript.WebhookEndpointList](t, body).Data; len(list) != 1 {
			t.Errorf("after delete: %+v, want one endpoint", list)
		}
		// The URL can be registered again.
		e.registerWebhook(ep.URL, deepscript.EventCompleted)
	})
}

func TestWebhookDelivery(t *testing.T) { onBothBackends(t, testWebhookDelivery) }

func testWebhookDelivery(t *testing.T) {
	e := startEngine(t, nil)
	rc := newReceiver(t)
	ep := e.registerWebhook(rc.URL, deepscript.EventCompleted, deepscript.EventFailed)
	rc.setSecret(ep.Secret)
	// An endpoint for other events and an unrelated URL get nothing.
	quiet := newReceiver(t)
	e.registerWebhook(quiet.URL, deepscript.EventBalanceLow)

	tr := e.mustSubmit(clips.short, map[string]string{"webhook_url": rc.URL})
	got := rc.waitFor(t, 1, 10*time.Second)[0]
	if got.VerifyErr != nil {
		t.Fatalf("signature does not verify with the reference library: %v", got.VerifyErr)
	}
	if !strings.HasPrefix(got.ID, "msg_") {
		t.Errorf("webhook-id %q, want msg_…", got.ID)
	}
	if got.Event.Event != deepscript.EventCompleted || got.Event.ID != tr.ID || got.Event.Result == nil ||
		got.Event.Result.Text != "hello world" || len(got.Event.Result.Segments) != 1 || got.Event.CreatedAt.IsZero() {
		t.Errorf("payload %s: want transcription.completed for %s with the result", got.Body, tr.ID)
	}
	t.Run("Forged", func(t *testing.T) {
		h := http.Header{}
		h.Set("webhook-id", got.ID)
		h.Set("webhook-timestamp", got.Timestamp)
		h.Set("webhook-signature", got.Signature)
		wrong, _ := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString([]byte("not the secret, not at all....")))
		if err := wrong.Verify(got.Body, h); err == nil {
			t.Error("a delivery verified with the wrong secret")
		}
		right, _ := standardwebhooks.NewWebhook(ep.Secret)
		if err := right.Verify(append([]byte(" "), got.Body...), h); err == nil {
			t.Error("a tampered body verified")
		}
		if err := right.Verify(got.Body, h); err != nil {
			t.Errorf("the untouched delivery does not verify: %v", err)
		}
	})
	t.Run("Failed", func(t *testing.T) {
		e.cfg.Recognizer.(*scripted).err = nil // the failure comes from ffmpeg
		bad := e.mustSubmit(clips.corrupt, map[string]string{"webhook_url": rc.URL})
		got := rc.waitFor(t, 2, 10*time.Second)[1]
		if got.VerifyErr != nil {
			t.Fatalf("verify: %v", got.VerifyErr)
		}
		if got.Event.Event != deepscript.EventFailed || got.Event.ID != bad.ID || got.Event.Error == nil ||
			got.Event.Error.Code != deepscript.CodeUnsupportedMedia || got.Event.Result != nil {
			t.Errorf("payload %s: want transcription.failed with error", got.Body)
		}
	})
	if n := len(quiet.deliveries()); n != 0 {
		t.Errorf("an endpoint not named by the job got %d deliveries", n)
	}
}

func TestWebhookRetry(t *testing.T) {
	t.Run("SameIDUntilSuccess", func(t *testing.T) {
		e := startEngine(t, func(c *Config) {
			c.WebhookRetry = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond}
		})
		rc := newReceiver(t)
		rc.failFirst = 2
		rc.setSecret(e.registerWebhook(rc.URL, deepscript.EventCompleted).Secret)
		e.mustSubmit(clips.short, map[string]string{"webhook_url": rc.URL})
		got := rc.waitFor(t, 3, 10*time.Second)
		for i, d := range got {
			if d.ID != got[0].ID || d.VerifyErr != nil {
				t.Errorf("attempt %d: webhook-id %s (first %s), verify %v", i+1, d.ID, got[0].ID, d.VerifyErr)
			}
		}
		waitDeliveryState(t, e, "delivered", 3)
		time.Sleep(100 * time.Millisecond)
		if n := len(rc.deliveries()); n != 3 {
			t.Errorf("%d attempts, want 3 (no more after success)", n)
		}
	})
	t.Run("GiveUp", func(t *testing.T) {
		e := startEngine(t, nil) // two retries: three attempts
		rc := newReceiver(t)
		rc.failFirst = 100
		rc.setSecret(e.registerWebhook(rc.URL, deepscript.EventCompleted).Secret)
		e.mustSubmit(clips.short, map[string]string{"webhook_url": rc.URL})
		rc.waitFor(t, 3, 10*time.Second)
		waitDeliveryState(t, e, "abandoned", 3)
		time.Sleep(100 * time.Millisecond)
		if n := len(rc.deliveries()); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
	})
	t.Run("TimeoutAndRefused", func(t *testing.T) {
		e := startEngine(t, func(c *Config) {
			c.WebhookTimeout = 200 * time.Millisecond
			c.WebhookRetry = []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}
		})
		// A port with nothing listening: connection refused.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		e.registerWebhook("http://"+addr+"/hook", deepscript.EventCompleted)
		// A receiver that hangs the first time: timeout.
		rc := newReceiver(t)
		rc.hang = make(chan struct{})
		rc.setSecret(e.registerWebhook(rc.URL, deepscript.EventCompleted).Secret)

		e.mustSubmit(clips.short, map[string]string{"webhook_url": rc.URL})
		first := rc.waitFor(t, 1, 10*time.Second)[0]
		rc.mu.Lock()
		rc.hang = nil
		rc.mu.Unlock()
		second := rc.waitFor(t, 2, 10*time.Second)[1]
		if second.ID != first.ID {
			t.Errorf("retry after timeout has webhook-id %s, want %s", second.ID, first.ID)
		}

		refused := e.mustSubmit(clips.other, map[string]string{"webhook_url": "http://" + addr + "/hook"})
		// Nothing listens: every attempt fails, then it is given up.
		deadline := time.Now().Add(10 * time.Second)
		for {
			list, err := e.store.Deliveries(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var state string
			var attempts int
			for _, d := range list {
				if d.TranscriptionID == refused.ID {
					state, attempts = d.State, d.Attempts
				}
			}
			if state == "abandoned" && attempts == 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("refused delivery: state %q after %d attempts, want abandoned after 3", state, attempts)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func TestBalance(t *testing.T) {
	info, err := media.Probe(context.Background(), clips.short)
	if err != nil {
		t.Fatal(err)
	}
	// The balance pays for three and a half clips; the second one crosses
	// the threshold.
	d := info.Duration
	grant, low := 3.5*d, 2.2*d
	e := startEngine(t, func(c *Config) { c.BalanceSeconds, c.BalanceLowSeconds = grant, low })
	rc := newReceiver(t)
	rc.setSecret(e.registerWebhook(rc.URL, deepscript.EventBalanceLow).Secret)
	other := newReceiver(t)
	e.registerWebhook(other.URL, deepscript.EventCompleted)

	e.mustSubmit(clips.short, nil)
	time.Sleep(100 * time.Millisecond)
	if n := len(rc.deliveries()); n != 0 {
		t.Fatalf("balance.low after the first job (remaining %.1f of threshold %.1f): %d deliveries", grant-d, low, n)
	}
	e.mustSubmit(clips.short, nil)
	got := rc.waitFor(t, 1, 5*time.Second)[0]
	if got.VerifyErr != nil || got.Event.Event != deepscript.EventBalanceLow || got.Event.Balance == nil {
		t.Fatalf("balance.low delivery %s (verify %v)", got.Body, got.VerifyErr)
	}
	if b := got.Event.Balance; b.ThresholdSeconds != low || math.Abs(b.RemainingSeconds-(grant-2*d)) > 0.01 {
		t.Errorf("balance %+v, want remaining %.2f threshold %.2f", b, grant-2*d, low)
	}
	e.mustSubmit(clips.short, nil) // still enough, already below: no second event
	status, body := e.submit(clips.short, nil, nil)
	if status != http.StatusPaymentRequired || errorCode(t, body) != deepscript.CodeInsufficientBalance {
		t.Errorf("submit over the balance: %d %s, want 402 insufficient_balance", status, body)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(rc.deliveries()); n != 1 {
		t.Errorf("%d balance.low deliveries, want exactly 1", n)
	}
	if n := len(other.deliveries()); n != 0 {
		t.Errorf("an endpoint not subscribed to balance.low got %d deliveries", n)
	}
}

func TestBalanceRefund(t *testing.T) { onBothBackends(t, testBalanceRefund) }

func testBalanceRefund(t *testing.T) {
	e := startEngine(t, func(c *Config) { c.BalanceSeconds = 100 })
	bad := e.mustSubmit(clips.corrupt, nil) // announces ~10 s, fails in ffmpeg
	if remaining, _, _ := e.store.RemainingBalance(context.Background()); remaining > 100-*bad.Duration+0.01 {
		t.Errorf("remaining %v after submit, want %v", remaining, 100-*bad.Duration)
	}
	e.waitStatus(bad.ID, deepscript.StatusFailed, 10*time.Second)
	if remaining, limited, _ := e.store.RemainingBalance(context.Background()); !limited || remaining != 100 {
		t.Errorf("remaining %v after the job failed, want 100 (refunded)", remaining)
	}
}

// waitDeliveryState waits until every outbox row has the state and count.
func waitDeliveryState(t *testing.T, e *testEngine, state string, attempts int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, err := e.store.Deliveries(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ok := len(list) > 0
		for _, d := range list {
			ok = ok && d.State == state && d.Attempts == attempts
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox %+v, want all %s after %d attempts", list, state, attempts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPruneFinishedDeliveries: a delivered webhook's outbox row goes once it
// is older than the retention; a pending one stays.
func TestPruneFinishedDeliveries(t *testing.T) {
	var ahead atomic.Int64
	cfg := testConfig(t, t.TempDir())
	cfg.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	e := startEngineWith(t, cfg)
	rc := newReceiver(t)
	rc.setSecret(e.registerWebhook(rc.URL, deepscript.EventCompleted).Secret)
	e.mustSubmit(clips.short, map[string]string{"webhook_url": rc.URL})
	rc.waitFor(t, 1, 10*time.Second)
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, err := e.store.Deliveries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 && list[0].State == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries %+v, want one delivered", list)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := e.store.PruneDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.store.Deliveries(ctx); len(list) != 1 {
		t.Fatalf("a fresh delivery was pruned: %+v", list)
	}
	ahead.Store(int64(deliveryRetention + time.Hour))
	if err := e.store.PruneDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.store.Deliveries(ctx); len(list) != 0 {
		t.Fatalf("deliveries after the retention: %+v, want none", list)
	}
}
