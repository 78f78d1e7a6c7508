package deepscript

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func newSecret(t *testing.T) string {
	t.Helper()
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// signed returns the headers of a delivery of body signed with secret at ts.
func signed(t *testing.T, secret, msgID string, ts time.Time, body []byte) http.Header {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wh.Sign(msgID, ts, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", sig)
	return h
}

func TestVerifyWebhook(t *testing.T) {
	secret := newSecret(t)
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"event":"transcription.completed","id":"tr_1","created_at":"2026-11-27T08:00:00Z"}`)

	for _, tc := range []struct {
		name   string
		header func() http.Header
		body   []byte
		want   error // nil means valid
	}{
		{"OK", func() http.Header { return signed(t, secret, "msg_1", now, body) }, body, nil},
		{"ValidAmongSeveral", func() http.Header {
			h := signed(t, secret, "msg_1", now, body)
			other := signed(t, newSecret(t), "msg_1", now, body).Get("webhook-signature")
			h.Set("webhook-signature", "v1,AAAA "+other+" v2,zzz "+h.Get("webhook-signature"))
			return h
		}, body, nil},
		{"AtToleranceEdge", func() http.Header { return signed(t, secret, "msg_1", now.Add(-300*time.Second), body) }, body, nil},
		{"ForgedSignature", func() http.Header { return signed(t, newSecret(t), "msg_1", now, body) }, body, ErrWebhookSignature},
		{"OnlyOtherVersions", func() http.Header {
			h := signed(t, secret, "msg_1", now, body)
			sig := h.Get("webhook-signature")
			h.Set("webhook-signature", "v2"+sig[2:])
			return h
		}, body, ErrWebhookSignature},
		{"TamperedBody", func() http.Header { return signed(t, secret, "msg_1", now, body) }, append([]byte(" "), body...), ErrWebhookSignature},
		{"ReplayedUnderOtherID", func() http.Header {
			h := signed(t, secret, "msg_1", now, body)
			h.Set("webhook-id", "msg_2")
			return h
		}, body, ErrWebhookSignature},
		{"StaleTimestamp", func() http.Header { return signed(t, secret, "msg_1", now.Add(-301*time.Second), body) }, body, ErrWebhookTimestamp},
		{"FutureTimestamp", func() http.Header { return signed(t, secret, "msg_1", now.Add(301*time.Second), body) }, body, ErrWebhookTimestamp},
		{"MissingHeaders", func() http.Header {
			h := signed(t, secret, "msg_1", now, body)
			h.Del("webhook-id")
			return h
		}, body, ErrWebhookHeaders},
		{"BadTimestamp", func() http.Header {
			h := signed(t, secret, "msg_1", now, body)
			h.Set("webhook-timestamp", "soon")
			return h
		}, body, ErrWebhookHeaders},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyWebhook(secret, tc.header(), tc.body, now)
			if tc.want == nil {
				if err != nil {
					t.Errorf("VerifyWebhook = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("VerifyWebhook = %v, want %v", err, tc.want)
			}
		})
	}

	t.Run("EmptySecret", func(t *testing.T) {
		if err := VerifyWebhook("whsec_", signed(t, secret, "msg_1", now, body), body, now); err == nil {
			t.Errorf("VerifyWebhook with an empty secret passed")
		}
	})
}

// TestLibraryRules pins what this package relies on in the Standard
// Webhooks library, against its own clock: a timestamp more than 5 min off
// fails in both directions, and one valid signature among several passes.
func TestLibraryRules(t *testing.T) {
	secret := newSecret(t)
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"event":"balance.low"}`)
	now := time.Now()
	if err := wh.Verify(body, signed(t, secret, "m", now.Add(-301*time.Second), body)); !errors.Is(err, standardwebhooks.ErrMessageTooOld) {
		t.Errorf("stale: %v, want ErrMessageTooOld", err)
	}
	if err := wh.Verify(body, signed(t, secret, "m", now.Add(301*time.Second), body)); !errors.Is(err, standardwebhooks.ErrMessageTooNew) {
		t.Errorf("future: %v, want ErrMessageTooNew", err)
	}
	h := signed(t, secret, "m", now, body)
	h.Set("webhook-signature", "v1,Zm9yZ2Vk "+h.Get("webhook-signature"))
	if err := wh.Verify(body, h); err != nil {
		t.Errorf("valid among several: %v", err)
	}
}

// TestVerifyWebhookDoesNotCopyBody checks that verifying a 16 MiB delivery
// allocates next to nothing: the receiver budgets memory for bodies, not
// for copies of them.
func TestVerifyWebhookDoesNotCopyBody(t *testing.T) {
	secret := newSecret(t)
	now := time.Unix(1_800_000_000, 0)
	body := make([]byte, 16<<20)
	for name, header := range map[string]http.Header{
		"Genuine": signed(t, secret, "msg_1", now, body),
		"Forged":  signed(t, newSecret(t), "msg_1", now, body),
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			VerifyWebhook(secret, header, body, now)
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10 {
				t.Errorf("verifying a 16 MiB body allocated %d bytes, want under 64 KiB", got)
			}
		})
	}
}
