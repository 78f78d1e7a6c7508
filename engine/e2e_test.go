package engine

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scribe/deepscript"
)

// These tests run the real pipeline: ffprobe at submit, ffmpeg decoding
// and pocketsphinx on flite speech.

func TestTranscribeRealSpeech(t *testing.T) {
	e := startEngine(t, func(c *Config) {
		c.Recognizer = sharedPocketsphinx(t)
		c.Workers = 2
	})
	rc := newReceiver(t)
	rc.setSecret(e.registerWebhook(rc.URL, deepscript.EventCompleted, deepscript.EventFailed).Secret)

	start := time.Now()
	ten := e.mustSubmit(clips.ten, map[string]string{"webhook_url": rc.URL})
	short := e.mustSubmit(clips.shortMP3, nil)
	events := e.readEvents(ten.ID, "0", 60*time.Second, nil)
	done := e.waitStatus(ten.ID, deepscript.StatusCompleted, 60*time.Second)
	latency := time.Since(start)
	t.Logf("%.1f s clip: completed %s after submit (two jobs on two workers)", *done.Duration, latency.Round(time.Millisecond))

	r := done.Result
	if r == nil {
		t.Fatal("no result")
	}
	if got := wordRecall(clips.tenText, r.Text); got < 0.6 {
		t.Errorf("recognised %q: %.0f%% of the reference words, want >= 60%%", r.Text, got*100)
	}
	if r.Duration < 7 || r.Duration > 12 || r.Language != "en" {
		t.Errorf("result duration %v language %q", r.Duration, r.Language)
	}
	prevEnd := 0.0
	for i, s := range r.Segments {
		if s.Start < prevEnd || s.End < s.Start || s.End > r.Duration+0.05 {
			t.Errorf("segment %d [%v, %v] overlaps or runs past %v", i, s.Start, s.End, r.Duration)
		}
		prevEnd = s.End
		for _, w := range s.Words {
			if w.Start < s.Start-0.01 || w.End > s.End+0.01 || w.Word == "" {
				t.Errorf("word %+v outside its segment [%v, %v]", w, s.Start, s.End)
			}
		}
	}
	checkSequence(t, events.Events, 1)
	if last := events.Events[len(events.Events)-1]; last.Event != deepscript.EventCompleted {
		t.Errorf("last event %+v", last)
	}
	got := rc.waitFor(t, 1, 10*time.Second)[0]
	if got.VerifyErr != nil || got.Event.Result == nil || got.Event.Result.Text != r.Text {
		t.Errorf("webhook %s (verify %v), want the same result", got.Body, got.VerifyErr)
	}
	s := e.waitStatus(short.ID, deepscript.StatusCompleted, 60*time.Second)
	if wordRecall("hello world this is a short test", s.Result.Text) < 0.5 {
		t.Errorf("mp3 clip recognised as %q", s.Result.Text)
	}
}

func TestRealDecodeFailures(t *testing.T) {
	e := startEngine(t, func(c *Config) { c.Recognizer = sharedPocketsphinx(t) })
	rc := newReceiver(t)
	rc.setSecret(e.registerWebhook(rc.URL, deepscript.EventFailed).Secret)
	for name, path := range map[string]string{"Corrupt": clips.corrupt, "Truncated": clips.truncated} {
		t.Run(name, func(t *testing.T) {
			tr := e.mustSubmit(path, map[string]string{"webhook_url": rc.URL})
			events := e.readEvents(tr.ID, "", 60*time.Second, nil)
			failed := e.waitStatus(tr.ID, deepscript.StatusFailed, 60*time.Second)
			if failed.Error == nil || failed.Error.Code != deepscript.CodeUnsupportedMedia || failed.Result != nil {
				t.Fatalf("failed job %+v", failed)
			}
			if msg := failed.Error.Message; len(msg) < 20 || strings.Contains(msg, filepath.Dir(path)) || strings.Contains(msg, e.cfg.DataDir) {
				t.Errorf("message %q: want a readable message without server paths", msg)
			}
			t.Logf("message: %s", failed.Error.Message)
			if last := events.Events[len(events.Events)-1]; last.Event != deepscript.EventFailed || last.Data.Error == nil {
				t.Errorf("last SSE event %+v, want transcription.failed with the error", last)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				var mine *delivered
				for _, d := range rc.deliveries() {
					if d.Event.ID == tr.ID {
						mine = &d
					}
				}
				if mine != nil {
					if mine.VerifyErr != nil || mine.Event.Event != deepscript.EventFailed || mine.Event.Error == nil ||
						*mine.Event.Error != *failed.Error {
						t.Errorf("webhook %s, want transcription.failed with %+v", mine.Body, failed.Error)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no transcription.failed webhook")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestLargeUploadStreamsToDisk sends a file bigger than any buffer the
// server could use and checks it is refused at the limit.
func TestLargeUploadStreamsToDisk(t *testing.T) {
	e := startEngine(t, func(c *Config) { c.MaxUploadBytes = 1 << 20 })
	big := filepath.Join(t.TempDir(), "big.wav")
	wav, _ := os.ReadFile(clips.ten)
	if err := os.WriteFile(big, bytes.Repeat(wav, 8), 0o600); err != nil { // ~2 MiB
		t.Fatal(err)
	}
	status, body := e.submit(big, nil, nil)
	if status != http.StatusRequestEntityTooLarge || errorCode(t, body) != deepscript.CodeFileTooLarge {
		t.Errorf("2 MiB over a 1 MiB limit: %d %s", status, body)
	}
	if files := e.audioFiles(); len(files) != 0 {
		t.Errorf("partial upload left on disk: %v", files)
	}
	tr := e.mustSubmit(clips.ten, nil) // 270 KB is fine
	e.waitStatus(tr.ID, deepscript.StatusCompleted, 10*time.Second)
}

func TestMain_Standalone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	env := map[string]string{
		"SCRIBE_ENGINE_ADDR":     "127.0.0.1:0",
		"SCRIBE_ENGINE_DATA_DIR": t.TempDir(),
		"SCRIBE_ENGINE_API_KEY":  "from-env",
		"SCRIBE_ENGINE_WORKERS":  "1",
	}
	errc := make(chan error, 1)
	go func() {
		errc <- Main(ctx, []string{"-api-key", testAPIKey}, func(k string) string { return env[k] }, &out)
	}()
	deadline := time.Now().Add(20 * time.Second)
	var url string
	for url == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed: %s", out.String())
		}
		select {
		case err := <-errc:
			t.Fatalf("Main returned early: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if _, rest, ok := strings.Cut(out.String(), "serving the DeepScript API at "); ok {
			url, _, _ = strings.Cut(rest, "\n")
		}
	}
	// The flag overrides the environment's key.
	req, _ := http.NewRequest(http.MethodGet, url+"/v1/webhooks", nil)
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/webhooks with the flag's key: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Main: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Main did not return after cancel")
	}
}

// wordRecall is the share of the reference's words found in the
// hypothesis, in order-insensitive bag-of-words terms.
func wordRecall(ref, hyp string) float64 {
	have := map[string]int{}
	for _, w := range strings.Fields(strings.ToLower(hyp)) {
		have[w]++
	}
	words := strings.Fields(strings.ToLower(ref))
	found := 0
	for _, w := range words {
		if have[w] > 0 {
			have[w]--
			found++
		}
	}
	return float64(found) / float64(len(words))
}
