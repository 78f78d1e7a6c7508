package engine

import (
	"bytes"
	"flag"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConfigFromEnv(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		c, err := ConfigFromEnv(func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		if c.Addr != "127.0.0.1:8081" || c.DataDir != "./data/engine" || c.Workers != runtime.NumCPU() ||
			c.MaxUploadBytes != 2<<30 || c.BalanceSeconds != 0 || c.RecognizerKind != RecognizerPocketsphinx ||
			(*durationList)(&c.WebhookRetry).String() != "5s,5m0s,30m0s,2h0m0s,5h0m0s,10h0m0s" {
			t.Errorf("defaults %+v", c)
		}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "API key") {
			t.Errorf("Validate without a key: %v, want an API key error", err)
		}
	})
	t.Run("Set", func(t *testing.T) {
		env := map[string]string{
			"SCRIBE_ENGINE_ADDR":                "0.0.0.0:9000",
			"SCRIBE_ENGINE_DATA_DIR":            "/var/lib/engine",
			"SCRIBE_ENGINE_API_KEY":             "k",
			"SCRIBE_ENGINE_WORKERS":             "3",
			"SCRIBE_ENGINE_WEBHOOK_RETRY":       "10ms, 1s",
			"SCRIBE_ENGINE_MAX_UPLOAD_BYTES":    "1000",
			"SCRIBE_ENGINE_BALANCE_SECONDS":     "3600",
			"SCRIBE_ENGINE_BALANCE_LOW_SECONDS": "600",
			"SCRIBE_ENGINE_RECOGNIZER":          "http",
			"SCRIBE_ENGINE_RECOGNIZER_URL":      "http://127.0.0.1:8000",
			"SCRIBE_ENGINE_RECOGNIZER_KEY":      "rk",
			"SCRIBE_ENGINE_RECOGNIZER_MODEL":    "whisper-1",
		}
		c, err := ConfigFromEnv(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{10 * time.Millisecond, time.Second}
		if c.Addr != "0.0.0.0:9000" || c.DataDir != "/var/lib/engine" || c.APIKey != "k" || c.Workers != 3 ||
			len(c.WebhookRetry) != 2 || c.WebhookRetry[0] != want[0] || c.WebhookRetry[1] != want[1] ||
			c.MaxUploadBytes != 1000 || c.BalanceSeconds != 3600 || c.BalanceLowSeconds != 600 ||
			c.RecognizerKind != "http" || c.RecognizerURL != "http://127.0.0.1:8000" || c.RecognizerKey != "rk" || c.RecognizerModel != "whisper-1" {
			t.Errorf("config %+v", c)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
		fs := flag.NewFlagSet("engine", flag.ContinueOnError)
		c.RegisterFlags(fs)
		if err := fs.Parse([]string{"-workers", "5", "-webhook-retry", "1s", "-addr", "127.0.0.1:0"}); err != nil {
			t.Fatal(err)
		}
		if c.Workers != 5 || len(c.WebhookRetry) != 1 || c.Addr != "127.0.0.1:0" || c.APIKey != "k" {
			t.Errorf("after flags %+v", c)
		}
	})
	t.Run("Bad", func(t *testing.T) {
		env := map[string]string{"SCRIBE_ENGINE_WORKERS": "many", "SCRIBE_ENGINE_WEBHOOK_RETRY": "soon"}
		if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err == nil ||
			!strings.Contains(err.Error(), "SCRIBE_ENGINE_WORKERS") || !strings.Contains(err.Error(), "SCRIBE_ENGINE_WEBHOOK_RETRY") {
			t.Errorf("err %v, want both variables named", err)
		}
		c := DefaultConfig()
		c.APIKey, c.Workers, c.RecognizerKind = "k", 0, "whisper"
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "workers") || !strings.Contains(err.Error(), "recognizer") {
			t.Errorf("Validate: %v", err)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
