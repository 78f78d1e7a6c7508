package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"scribe/handlers"
	"scribe/settings"
)

// envOf returns a getenv that reads vars.
func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestLoadConfig(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		c, err := loadConfig(nil, envOf(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		want := Config{
			Addr:            "127.0.0.1:8080",
			DataDir:         "./data",
			PollInterval:    10 * time.Minute,
			PollMaxInterval: 2 * time.Hour,
			StaleAfter:      30 * time.Minute,
			MaxUploadBytes:  2 << 30,
			Signup:          "invite",

			MaxFilesPerUpload:  20,
			MaxStreamsPerUser:  32,
			MaxUpstreamStreams: 200,
			MaxQueuedPerUser:   100,
			MaxFileDuration:    4 * time.Hour,
			DailyAudioPerUser:  12 * time.Hour,
			MinFreeBytes:       64 << 20,
		}
		if got := c; got != want {
			t.Fatalf("got %+v, want the defaults %+v", got, want)
		}
	})
	t.Run("EnvThenFlags", func(t *testing.T) {
		c, err := loadConfig([]string{"-poll-interval", "3s", "-addr=127.0.0.1:0"}, envOf(map[string]string{
			"SCRIBE_ADDR": "0.0.0.0:80", "SCRIBE_DATA_DIR": "/srv/scribe", "SCRIBE_DATABASE_URL": "postgres://scribe@db/scribe",
			"SCRIBE_POLL_INTERVAL": "1m", "SCRIBE_POLL_MAX_INTERVAL": "3h", "SCRIBE_STALE_AFTER": "2m", "SCRIBE_MAX_UPLOAD_BYTES": "1000",
			"SCRIBE_MAX_UPSTREAM_STREAMS": "50",
			"DEEPSCRIPT_URL":              "https://api.example", "DEEPSCRIPT_API_KEY": "k",
			"SCRIBE_PUBLIC_URL": "https://scribe.example/", "SCRIBE_SIGNUP": "open",
			"SCRIBE_MAX_FILES_PER_UPLOAD": "5", "SCRIBE_MAX_STREAMS_PER_USER": "0", "SCRIBE_MAX_QUEUED_PER_USER": "7",
			"SCRIBE_MAX_FILE_DURATION": "90m", "SCRIBE_DAILY_AUDIO_PER_USER": "0", "SCRIBE_MIN_FREE_BYTES": "1048576",
			"SCRIBE_METRICS_ADDR": "127.0.0.1:9100", "SCRIBE_METRICS_TOKEN": "0123456789abcdef",
		}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		want := Config{
			Addr:             "127.0.0.1:0", // the flag wins
			DataDir:          "/srv/scribe",
			DatabaseURL:      "postgres://scribe@db/scribe",
			PublicURL:        "https://scribe.example/",
			DeepScriptURL:    "https://api.example",
			DeepScriptAPIKey: "k",
			PollInterval:     3 * time.Second, // the flag wins
			PollMaxInterval:  3 * time.Hour,
			StaleAfter:       2 * time.Minute,
			MaxUploadBytes:   1000,
			Signup:           "open",

			MaxFilesPerUpload:  5,
			MaxStreamsPerUser:  0, // no limit
			MaxUpstreamStreams: 50,
			MaxQueuedPerUser:   7,
			MaxFileDuration:    90 * time.Minute,
			DailyAudioPerUser:  0, // no limit
			MinFreeBytes:       1 << 20,
			MetricsAddr:        "127.0.0.1:9100",
			MetricsToken:       "0123456789abcdef",
		}
		if got := c; got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		if got, want := c.webhookURL(), "https://scribe.example/webhooks/deepscript"; got != want {
			t.Fatalf("webhook URL %q, want %q", got, want)
		}
		if got, want := c.limits(), (handlers.Limits{FilesPerUpload: 5, QueuedPerUser: 7, MaxFileSeconds: 5400}); got != want {
			t.Fatalf("limits %+v, want %+v", got, want)
		}
	})
	t.Run("LimitFlags", func(t *testing.T) {
		c, err := loadConfig([]string{"-max-files-per-upload=3", "-max-streams-per-user=4", "-max-queued-per-user=0",
			"-max-file-duration=1h", "-daily-audio-per-user=2h", "-min-free-bytes=0", "-metrics-addr=127.0.0.1:0"},
			envOf(map[string]string{"SCRIBE_MAX_FILES_PER_UPLOAD": "9"}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.limits(), (handlers.Limits{FilesPerUpload: 3, StreamsPerUser: 4, MaxFileSeconds: 3600, DailySeconds: 7200}); got != want {
			t.Fatalf("limits %+v, want %+v", got, want)
		}
		if c.MinFreeBytes != 0 || c.MetricsAddr != "127.0.0.1:0" {
			t.Fatalf("min free bytes %d, metrics addr %q; want 0 and 127.0.0.1:0", c.MinFreeBytes, c.MetricsAddr)
		}
	})
	t.Run("Help", func(t *testing.T) {
		var out strings.Builder
		if _, err := loadConfig([]string{"-h"}, envOf(nil), &out); !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("err = %v, want flag.ErrHelp", err)
		}
		for _, want := range []string{"Usage: scribe serve [flags]", "-poll-interval duration", "(SCRIBE_POLL_INTERVAL, default 10m)",
			"(DEEPSCRIPT_URL)", "(SCRIBE_MAX_UPLOAD_BYTES, default 2147483648)",
			"(SCRIBE_MAX_FILE_DURATION, default 4h)", "(SCRIBE_MIN_FREE_BYTES, default 67108864)", "(SCRIBE_METRICS_TOKEN)"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("usage lacks %q:\n%s", want, out.String())
			}
		}
	})
	for name, tc := range map[string]struct {
		args []string
		vars map[string]string
		want string
	}{
		"BadDuration":       {nil, map[string]string{"SCRIBE_POLL_INTERVAL": "abc"}, `SCRIBE_POLL_INTERVAL: "abc" is not a duration like 10m`},
		"BadStaleAfter":     {nil, map[string]string{"SCRIBE_STALE_AFTER": "1 hour"}, `SCRIBE_STALE_AFTER: "1 hour" is not a duration like 10m`},
		"BadMaxBytes":       {nil, map[string]string{"SCRIBE_MAX_UPLOAD_BYTES": "2G"}, `SCRIBE_MAX_UPLOAD_BYTES: "2G" is not a number of bytes like 1048576`},
		"BadPublicURL":      {nil, map[string]string{"SCRIBE_PUBLIC_URL": "scribe.example"}, `SCRIBE_PUBLIC_URL: "scribe.example" is not an http(s) URL`},
		"BadUpstreamURL":    {nil, map[string]string{"DEEPSCRIPT_URL": "ftp://x", "DEEPSCRIPT_API_KEY": "k"}, `DEEPSCRIPT_URL: "ftp://x" is not an http(s) URL`},
		"BadFlag":           {[]string{"-stale-after", "soon"}, nil, `-stale-after: "soon" is not a duration like 10m`},
		"UnknownFlag":       {[]string{"-port", "80"}, nil, "flag provided but not defined: -port"},
		"StrayArgument":     {[]string{"-addr", "127.0.0.1:0", "extra"}, nil, `unexpected argument "extra"`},
		"EmptyAddr":         {[]string{"-addr="}, nil, "SCRIBE_ADDR is empty"},
		"EmptyDataDir":      {[]string{"-data-dir="}, nil, "SCRIBE_DATA_DIR is empty"},
		"NotPostgres":       {nil, map[string]string{"SCRIBE_DATABASE_URL": "mysql://u:secret@h/db"}, "SCRIBE_DATABASE_URL must be a postgres:// URL"},
		"ZeroInterval":      {nil, map[string]string{"SCRIBE_POLL_INTERVAL": "0s"}, "SCRIBE_POLL_INTERVAL must be positive"},
		"NegativeStale":     {nil, map[string]string{"SCRIBE_STALE_AFTER": "-1m"}, "SCRIBE_STALE_AFTER must not be negative"},
		"NegativeMaxBytes":  {nil, map[string]string{"SCRIBE_MAX_UPLOAD_BYTES": "-1"}, "SCRIBE_MAX_UPLOAD_BYTES must be positive"},
		"UpstreamNoKey":     {nil, map[string]string{"DEEPSCRIPT_URL": "https://api.example"}, "DEEPSCRIPT_API_KEY is required with DEEPSCRIPT_URL"},
		"UnknownSignup":     {nil, map[string]string{"SCRIBE_SIGNUP": "maybe"}, "SCRIBE_SIGNUP must be open, invite or closed"},
		"BadFilesPerUpload": {nil, map[string]string{"SCRIBE_MAX_FILES_PER_UPLOAD": "many"}, `SCRIBE_MAX_FILES_PER_UPLOAD: "many" is not a whole number like 4`},
		"NegativeStreams":   {[]string{"-max-streams-per-user=-1"}, nil, "SCRIBE_MAX_STREAMS_PER_USER must not be negative"},
		"NegativeQueued":    {nil, map[string]string{"SCRIBE_MAX_QUEUED_PER_USER": "-5"}, "SCRIBE_MAX_QUEUED_PER_USER must not be negative"},
		"NegativeUpstream":  {[]string{"-max-upstream-streams=-1"}, nil, "SCRIBE_MAX_UPSTREAM_STREAMS must not be negative"},
		"ZeroMaxInterval":   {nil, map[string]string{"SCRIBE_POLL_MAX_INTERVAL": "0s"}, "SCRIBE_POLL_MAX_INTERVAL must be positive"},
		"BadFileDuration":   {nil, map[string]string{"SCRIBE_MAX_FILE_DURATION": "4"}, `SCRIBE_MAX_FILE_DURATION: "4" is not a duration like 10m`},
		"NegativeDaily":     {nil, map[string]string{"SCRIBE_DAILY_AUDIO_PER_USER": "-1h"}, "SCRIBE_DAILY_AUDIO_PER_USER must not be negative"},
		"BadMinFree":        {nil, map[string]string{"SCRIBE_MIN_FREE_BYTES": "64MiB"}, `SCRIBE_MIN_FREE_BYTES: "64MiB" is not a number of bytes`},
		"NegativeMinFree":   {nil, map[string]string{"SCRIBE_MIN_FREE_BYTES": "-1"}, "SCRIBE_MIN_FREE_BYTES must not be negative"},
		"ShortMetricsToken": {nil, map[string]string{"SCRIBE_METRICS_TOKEN": "secret"}, "SCRIBE_METRICS_TOKEN must be at least 16 characters"},
		"MetricsOnMainAddr": {[]string{"-addr=127.0.0.1:9000", "-metrics-addr=127.0.0.1:9000"}, nil, "SCRIBE_METRICS_ADDR must differ from SCRIBE_ADDR"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(tc.args, envOf(tc.vars), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestRunArgs(t *testing.T) {
	t.Run("UnknownCommand", func(t *testing.T) {
		err := run(context.Background(), []string{"bogus"}, envOf(nil), io.Discard)
		var usage *settings.UsageError
		if !errors.As(err, &usage) {
			t.Fatalf("err = %v, want a *settings.UsageError", err)
		}
		if got, want := err.Error(), `unknown command "bogus": want serve, engine, backup or client`; got != want {
			t.Errorf("err = %q, want %q", got, want)
		}
	})
	t.Run("ServeStrayArgument", func(t *testing.T) {
		err := run(context.Background(), []string{"serve", "bogus"}, envOf(nil), io.Discard)
		var usage *settings.UsageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), `unexpected argument "bogus"`) {
			t.Fatalf("err = %v, want a usage error about the argument", err)
		}
	})
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"Help":      {[]string{"-h"}, "Usage: scribe serve [flags]"},
		"ServeHelp": {[]string{"serve", "-h"}, "Usage: scribe serve [flags]"},
	} {
		t.Run(name, func(t *testing.T) {
			var out strings.Builder
			if err := run(context.Background(), tc.args, envOf(nil), &out); err != nil {
				t.Fatalf("run %q = %v, want nil after the usage", tc.args, err)
			}
			if got, want := out.String(), tc.want; !strings.HasPrefix(got, want) {
				t.Errorf("output %q, want it to start %q", got, want)
			}
		})
	}
}

func TestSecureCookies(t *testing.T) {
	for url, want := range map[string]bool{
		"https://scribe.example": true, "HTTPS://scribe.example": true,
		"http://scribe.example": false, "": false,
	} {
		if got := (Config{PublicURL: url}).secureCookies(); got != want {
			t.Errorf("PublicURL %q: secure cookies %v, want %v", url, got, want)
		}
	}
}
