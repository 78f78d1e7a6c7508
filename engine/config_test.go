package engine

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"scribe/settings"
)

func TestLoadConfig(t *testing.T) {
	load := func(args []string, env map[string]string) (Config, error) {
		return LoadConfig(args, func(k string) string { return env[k] }, io.Discard)
	}
	t.Run("Defaults", func(t *testing.T) {
		c, err := load(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Addr != "127.0.0.1:8081" || c.DataDir != "./data/engine" || c.APIKey != "" || c.Workers != runtime.NumCPU() ||
			c.MaxUploadBytes != 2<<30 || c.BalanceSeconds != 0 || c.BalanceLowSeconds != 0 || c.RecognizerKind != RecognizerPocketsphinx ||
			c.WebhookTimeout != 15*time.Second || c.PingInterval != 10*time.Second || c.MaxQueued != 1000 ||
			c.DatabaseURL != "" || c.StorageURL != "" || c.Lease != 30*time.Second {
			t.Errorf("defaults %+v", c)
		}
		if got, want := fmt.Sprint(c.WebhookRetry), "[5s 5m0s 30m0s 2h0m0s 5h0m0s 10h0m0s]"; got != want {
			t.Errorf("webhook retry %s, want %s", got, want)
		}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "API key") {
			t.Errorf("Validate without a key: %v, want an API key error", err)
		}
		if got, want := c.AudioDir(), "data/engine/audio"; got != want {
			t.Errorf("audio dir %s, want %s", got, want)
		}
	})
	env := map[string]string{
		"SCRIBE_ENGINE_ADDR":                "0.0.0.0:9000",
		"SCRIBE_ENGINE_DATA_DIR":            "/var/lib/engine",
		"SCRIBE_ENGINE_API_KEY":             "k",
		"SCRIBE_ENGINE_WORKERS":             "3",
		"SCRIBE_ENGINE_WEBHOOK_RETRY":       "10ms, 1s",
		"SCRIBE_ENGINE_MAX_UPLOAD_BYTES":    "1000",
		"SCRIBE_ENGINE_MAX_QUEUED":          "0",
		"SCRIBE_ENGINE_BALANCE_SECONDS":     "3600",
		"SCRIBE_ENGINE_BALANCE_LOW_SECONDS": "600",
		"SCRIBE_ENGINE_RECOGNIZER":          "http",
		"SCRIBE_ENGINE_RECOGNIZER_URL":      "http://127.0.0.1:8000",
		"SCRIBE_ENGINE_RECOGNIZER_KEY":      "rk",
		"SCRIBE_ENGINE_RECOGNIZER_MODEL":    "whisper-1",
		"SCRIBE_ENGINE_DATABASE_URL":        "postgres://engine@db.internal/engine",
		"SCRIBE_ENGINE_STORAGE_URL":         "file:///srv/engine-audio",
		"SCRIBE_ENGINE_LEASE":               "10s",
	}
	t.Run("Env", func(t *testing.T) {
		c, err := load(nil, env)
		if err != nil {
			t.Fatal(err)
		}
		if c.Addr != "0.0.0.0:9000" || c.DataDir != "/var/lib/engine" || c.APIKey != "k" || c.Workers != 3 ||
			c.MaxUploadBytes != 1000 || c.MaxQueued != 0 || c.BalanceSeconds != 3600 || c.BalanceLowSeconds != 600 ||
			c.RecognizerKind != "http" || c.RecognizerURL != "http://127.0.0.1:8000" || c.RecognizerKey != "rk" || c.RecognizerModel != "whisper-1" {
			t.Errorf("config %+v", c)
		}
		if c.DatabaseURL != "postgres://engine@db.internal/engine" || c.StorageURL != "file:///srv/engine-audio" ||
			c.Lease != 10*time.Second || c.AudioDir() != "/srv/engine-audio" {
			t.Errorf("cluster settings %+v, audio dir %s", c, c.AudioDir())
		}
		if got, want := fmt.Sprint(c.WebhookRetry), "[10ms 1s]"; got != want {
			t.Errorf("webhook retry %s, want %s", got, want)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
	})
	t.Run("EnvThenFlags", func(t *testing.T) {
		c, err := load([]string{"-workers", "5", "-webhook-retry", "1s", "-addr", "127.0.0.1:0"}, env)
		if err != nil {
			t.Fatal(err)
		}
		if c.Workers != 5 || c.Addr != "127.0.0.1:0" || c.APIKey != "k" || c.DataDir != "/var/lib/engine" {
			t.Errorf("after flags %+v", c)
		}
		if got, want := fmt.Sprint(c.WebhookRetry), "[1s]"; got != want {
			t.Errorf("webhook retry %s, want %s from the flag", got, want)
		}
	})
	t.Run("Help", func(t *testing.T) {
		var out strings.Builder
		if _, err := LoadConfig([]string{"-h"}, func(string) string { return "" }, &out); !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("err = %v, want flag.ErrHelp", err)
		}
		for _, want := range []string{"Usage: scribe engine [flags]", "(SCRIBE_ENGINE_API_KEY)",
			"(SCRIBE_ENGINE_WEBHOOK_RETRY, default 5s,5m,30m,2h,5h,10h)", "(SCRIBE_ENGINE_RECOGNIZER, default pocketsphinx)",
			"(SCRIBE_ENGINE_DATABASE_URL)", "(SCRIBE_ENGINE_STORAGE_URL)", "(SCRIBE_ENGINE_LEASE, default 30s)"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("usage lacks %q:\n%s", want, out.String())
			}
		}
	})
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"BadWorkers":    {nil, map[string]string{"SCRIBE_ENGINE_WORKERS": "many"}, `SCRIBE_ENGINE_WORKERS: "many" is not a whole number like 4`},
		"BadRetry":      {nil, map[string]string{"SCRIBE_ENGINE_WEBHOOK_RETRY": "soon"}, `SCRIBE_ENGINE_WEBHOOK_RETRY: "soon" is not a list of durations`},
		"BadMaxBytes":   {nil, map[string]string{"SCRIBE_ENGINE_MAX_UPLOAD_BYTES": "2GiB"}, `SCRIBE_ENGINE_MAX_UPLOAD_BYTES: "2GiB" is not a number of bytes`},
		"BadMaxQueued":  {nil, map[string]string{"SCRIBE_ENGINE_MAX_QUEUED": "1k"}, `SCRIBE_ENGINE_MAX_QUEUED: "1k" is not a whole number like 4`},
		"BadBalance":    {nil, map[string]string{"SCRIBE_ENGINE_BALANCE_SECONDS": "1h"}, `SCRIBE_ENGINE_BALANCE_SECONDS: "1h" is not a number like 3600`},
		"BadBalanceLow": {nil, map[string]string{"SCRIBE_ENGINE_BALANCE_LOW_SECONDS": "Inf"}, `SCRIBE_ENGINE_BALANCE_LOW_SECONDS: "Inf" is not a number`},
		"BadRecognizer": {nil, map[string]string{"SCRIBE_ENGINE_RECOGNIZER_URL": "localhost:8000"}, `SCRIBE_ENGINE_RECOGNIZER_URL: "localhost:8000" is not an http(s) URL`},
		"BadFlag":       {[]string{"-workers", "two"}, nil, `-workers: "two" is not a whole number like 4`},
		"UnknownFlag":   {[]string{"-threads", "2"}, nil, "flag provided but not defined: -threads"},
		"StrayArgument": {[]string{"serve"}, nil, `unexpected argument "serve"`},
		"BothVariables": {nil, map[string]string{"SCRIBE_ENGINE_WORKERS": "x", "SCRIBE_ENGINE_WEBHOOK_RETRY": "y"},
			"SCRIBE_ENGINE_WORKERS: \"x\" is not a whole number like 4\nSCRIBE_ENGINE_WEBHOOK_RETRY: \"y\" is not a list"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(tc.args, tc.env)
			var usage *settings.UsageError
			if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a usage error mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("Validate", func(t *testing.T) {
		for name, tc := range map[string]struct {
			change func(*Config)
			want   string
		}{
			"NoAddr":            {func(c *Config) { c.Addr = "" }, "listen address is empty"},
			"NoDataDir":         {func(c *Config) { c.DataDir = "" }, "data dir is empty"},
			"NoWorkers":         {func(c *Config) { c.Workers = 0 }, "workers must be at least 1, not 0"},
			"ZeroRetry":         {func(c *Config) { c.WebhookRetry = []time.Duration{0} }, "webhook retry delays must be positive"},
			"ZeroMaxBytes":      {func(c *Config) { c.MaxUploadBytes = 0 }, "max upload bytes must be positive"},
			"NegativeBalance":   {func(c *Config) { c.BalanceSeconds = -1 }, "balance settings must not be negative"},
			"NegativeMaxQueued": {func(c *Config) { c.MaxQueued = -1 }, "max queued must not be negative, not -1"},
			"UnknownRecognizer": {func(c *Config) { c.RecognizerKind = "whisper" }, `unknown recognizer "whisper"`},
			"HTTPWithoutURL":    {func(c *Config) { c.RecognizerKind = RecognizerHTTP }, "the http recognizer needs a URL"},
			"MySQLDatabase":     {func(c *Config) { c.DatabaseURL = "mysql://db/engine" }, `want postgres://…, got scheme "mysql"`},
			"S3Storage":         {func(c *Config) { c.StorageURL = "s3://bucket/audio" }, "want file:///absolute/dir"},
			"RelativeStorage":   {func(c *Config) { c.StorageURL = "file:audio" }, "want file:///absolute/dir"},
			"ShortLease":        {func(c *Config) { c.Lease = 10 * time.Millisecond }, "lease must be at least 100ms"},
		} {
			t.Run(name, func(t *testing.T) {
				c := DefaultConfig()
				c.APIKey = "k"
				tc.change(&c)
				if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Validate = %v, want it to mention %q", err, tc.want)
				}
			})
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
