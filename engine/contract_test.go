package engine

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scribe/deepscript"
)

// The contract's duration is "seconds of audio, once known, else null": a
// file whose container does not announce its length (a webm streamed by
// MediaRecorder) is submitted with duration null, not 0, and gets the
// decoded length when it completes.
func TestDurationNullUntilKnown(t *testing.T) {
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", clips.short, "-c:a", "libopus", "-f", "webm", "pipe:1")
	streamed, err := cmd.Output()
	if err != nil {
		t.Fatalf("making a streamed webm: %v", err)
	}
	path := filepath.Join(t.TempDir(), "streamed.webm")
	if err := os.WriteFile(path, streamed, 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEngine(t, nil)
	status, body := e.submit(path, nil, nil)
	if status != http.StatusCreated {
		t.Fatalf("submit: %d %s", status, body)
	}
	if !bytes.Contains(body, []byte(`"duration":null`)) {
		t.Errorf("submit answer %s: want \"duration\":null for an unannounced length", body)
	}
	tr := decode[deepscript.Transcription](t, body)
	done := e.waitStatus(tr.ID, deepscript.StatusCompleted, 10*time.Second)
	if done.Duration == nil || *done.Duration < 1 {
		t.Errorf("completed duration %v, want the decoded length", done.Duration)
	}
}

// Webhook payload times are RFC 3339 UTC ("…Z") even when the process's
// clock or zone is not UTC.
func TestWebhookTimesAreUTC(t *testing.T) {
	zone := time.FixedZone("UTC+5", 5*3600)
	e := startEngine(t, func(c *Config) {
		c.Now = func() time.Time { return time.Now().In(zone) }
		c.BalanceSeconds, c.BalanceLowSeconds = 100, 99
	})
	rc := newReceiver(t)
	ep := e.registerWebhook(rc.URL, deepscript.EventCompleted, deepscript.EventBalanceLow)
	rc.setSecret(ep.Secret)
	tr := e.mustSubmit(clips.short, map[string]string{"webhook_url": rc.URL})
	e.waitStatus(tr.ID, deepscript.StatusCompleted, 10*time.Second)
	got := rc.waitFor(t, 2, 5*time.Second)
	for _, d := range got {
		var raw struct {
			CreatedAt string `json:"created_at"`
		}
		decodeInto(t, d.Body, &raw)
		ts, err := time.Parse(time.RFC3339Nano, raw.CreatedAt)
		if err != nil || ts.Location() != time.UTC || raw.CreatedAt[len(raw.CreatedAt)-1] != 'Z' {
			t.Errorf("%s created_at %q, want an RFC 3339 UTC time", d.Event.Event, raw.CreatedAt)
		}
		// Milliseconds at most, like the API's other times.
		if !ts.Equal(ts.Truncate(time.Millisecond)) {
			t.Errorf("%s created_at %q, want millisecond precision", d.Event.Event, raw.CreatedAt)
		}
	}
}

// A retry with the same Idempotency-Key returns the same transcription as
// it is now: once completed, with its result, like GET shows it.
func TestIdempotentReplayOfCompletedJob(t *testing.T) {
	e := startEngine(t, nil)
	key := http.Header{"Idempotency-Key": {"replay-done"}}
	status, body := e.submit(clips.short, nil, key)
	if status != http.StatusCreated {
		t.Fatalf("first submit: %d %s", status, body)
	}
	first := decode[deepscript.Transcription](t, body)
	e.waitStatus(first.ID, deepscript.StatusCompleted, 10*time.Second)
	status, body = e.submit(clips.short, nil, key)
	if status != http.StatusOK {
		t.Fatalf("retry: %d %s, want 200", status, body)
	}
	again := decode[deepscript.Transcription](t, body)
	if again.ID != first.ID || again.Status != deepscript.StatusCompleted || again.Result == nil {
		t.Errorf("retry answer %s: want %s completed with its result", body, first.ID)
	}
}

// The Idempotency-Key limit is 255 characters, not bytes.
func TestIdempotencyKeyLimitInCharacters(t *testing.T) {
	e := startEngine(t, nil)
	long := strings.Repeat("é", 255) // 510 bytes
	if status, body := e.submit(clips.short, nil, http.Header{"Idempotency-Key": {long}}); status != http.StatusCreated {
		t.Errorf("255-character key: %d %s, want 201", status, body)
	}
	if status, body := e.submit(clips.short, nil, http.Header{"Idempotency-Key": {long + "é"}}); status != http.StatusBadRequest {
		t.Errorf("256-character key: %d %s, want 400", status, body)
	}
}

// The contract wants ": ping" at least every 15 s; the default interval
// must stay clearly under it, so a ping never arrives late.
func TestDefaultPingIntervalUnder15s(t *testing.T) {
	if got := DefaultConfig().PingInterval; got <= 0 || got > 12*time.Second {
		t.Errorf("default ping interval %s, want at most 12 s", got)
	}
}
