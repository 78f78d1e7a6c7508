package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	t.Run("Defaults", func(t *testing.T) {
		c, err := loadConfig(nil, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c != defaultConfig() {
			t.Fatalf("got %+v, want the defaults %+v", c, defaultConfig())
		}
	})
	t.Run("EnvThenFlags", func(t *testing.T) {
		c, err := loadConfig([]string{"-poll-interval", "3s"}, env(map[string]string{
			"SCRIBE_POLL_INTERVAL": "1m", "SCRIBE_STALE_AFTER": "2m", "SCRIBE_MAX_UPLOAD_BYTES": "1000",
			"DEEPSCRIPT_URL": "https://api.example", "DEEPSCRIPT_API_KEY": "k",
			"SCRIBE_PUBLIC_URL": "https://scribe.example/", "SCRIBE_SIGNUP": "open",
		}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c.PollInterval != 3*time.Second || c.StaleAfter != 2*time.Minute || c.MaxUploadBytes != 1000 || c.Signup != "open" {
			t.Fatalf("got %+v", c)
		}
		if got, want := c.webhookURL(), "https://scribe.example/webhooks/deepscript"; got != want {
			t.Fatalf("webhook URL %q, want %q", got, want)
		}
	})
	for name, tc := range map[string]struct {
		vars map[string]string
		want string
	}{
		"BadDuration":      {map[string]string{"SCRIBE_POLL_INTERVAL": "soon"}, "SCRIBE_POLL_INTERVAL"},
		"ZeroInterval":     {map[string]string{"SCRIBE_POLL_INTERVAL": "0s"}, "must be positive"},
		"BadUpstreamURL":   {map[string]string{"DEEPSCRIPT_URL": "ftp://x", "DEEPSCRIPT_API_KEY": "k"}, "DEEPSCRIPT_URL"},
		"UpstreamNoKey":    {map[string]string{"DEEPSCRIPT_URL": "https://api.example"}, "DEEPSCRIPT_API_KEY is required"},
		"NegativeMaxBytes": {map[string]string{"SCRIBE_MAX_UPLOAD_BYTES": "-1"}, "SCRIBE_MAX_UPLOAD_BYTES"},
		"UnknownSignup":    {map[string]string{"SCRIBE_SIGNUP": "maybe"}, "SCRIBE_SIGNUP"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(nil, env(tc.vars), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
