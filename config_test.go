package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

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
			Addr:           "127.0.0.1:8080",
			DataDir:        "./data",
			PollInterval:   10 * time.Minute,
			StaleAfter:     30 * time.Minute,
			MaxUploadBytes: 2 << 30,
			Signup:         "invite",
		}
		if got := c; got != want {
			t.Fatalf("got %+v, want the defaults %+v", got, want)
		}
	})
	t.Run("EnvThenFlags", func(t *testing.T) {
		c, err := loadConfig([]string{"-poll-interval", "3s", "-addr=127.0.0.1:0"}, envOf(map[string]string{
			"SCRIBE_ADDR": "0.0.0.0:80", "SCRIBE_DATA_DIR": "/srv/scribe",
			"SCRIBE_POLL_INTERVAL": "1m", "SCRIBE_STALE_AFTER": "2m", "SCRIBE_MAX_UPLOAD_BYTES": "1000",
			"DEEPSCRIPT_URL": "https://api.example", "DEEPSCRIPT_API_KEY": "k",
			"SCRIBE_PUBLIC_URL": "https://scribe.example/", "SCRIBE_SIGNUP": "open",
		}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		want := Config{
			Addr:             "127.0.0.1:0", // the flag wins
			DataDir:          "/srv/scribe",
			PublicURL:        "https://scribe.example/",
			DeepScriptURL:    "https://api.example",
			DeepScriptAPIKey: "k",
			PollInterval:     3 * time.Second, // the flag wins
			StaleAfter:       2 * time.Minute,
			MaxUploadBytes:   1000,
			Signup:           "open",
		}
		if got := c; got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		if got, want := c.webhookURL(), "https://scribe.example/webhooks/deepscript"; got != want {
			t.Fatalf("webhook URL %q, want %q", got, want)
		}
	})
	t.Run("Help", func(t *testing.T) {
		var out strings.Builder
		if _, err := loadConfig([]string{"-h"}, envOf(nil), &out); !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("err = %v, want flag.ErrHelp", err)
		}
		for _, want := range []string{"Usage: scribe serve [flags]", "-poll-interval duration", "(SCRIBE_POLL_INTERVAL, default 10m)",
			"(DEEPSCRIPT_URL)", "(SCRIBE_MAX_UPLOAD_BYTES, default 2147483648)"} {
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
		"BadDuration":      {nil, map[string]string{"SCRIBE_POLL_INTERVAL": "abc"}, `SCRIBE_POLL_INTERVAL: "abc" is not a duration like 10m`},
		"BadStaleAfter":    {nil, map[string]string{"SCRIBE_STALE_AFTER": "1 hour"}, `SCRIBE_STALE_AFTER: "1 hour" is not a duration like 10m`},
		"BadMaxBytes":      {nil, map[string]string{"SCRIBE_MAX_UPLOAD_BYTES": "2G"}, `SCRIBE_MAX_UPLOAD_BYTES: "2G" is not a number of bytes like 1048576`},
		"BadPublicURL":     {nil, map[string]string{"SCRIBE_PUBLIC_URL": "scribe.example"}, `SCRIBE_PUBLIC_URL: "scribe.example" is not an http(s) URL`},
		"BadUpstreamURL":   {nil, map[string]string{"DEEPSCRIPT_URL": "ftp://x", "DEEPSCRIPT_API_KEY": "k"}, `DEEPSCRIPT_URL: "ftp://x" is not an http(s) URL`},
		"BadFlag":          {[]string{"-stale-after", "soon"}, nil, `-stale-after: "soon" is not a duration like 10m`},
		"UnknownFlag":      {[]string{"-port", "80"}, nil, "flag provided but not defined: -port"},
		"StrayArgument":    {[]string{"-addr", "127.0.0.1:0", "extra"}, nil, `unexpected argument "extra"`},
		"EmptyAddr":        {[]string{"-addr="}, nil, "SCRIBE_ADDR is empty"},
		"EmptyDataDir":     {[]string{"-data-dir="}, nil, "SCRIBE_DATA_DIR is empty"},
		"ZeroInterval":     {nil, map[string]string{"SCRIBE_POLL_INTERVAL": "0s"}, "SCRIBE_POLL_INTERVAL must be positive"},
		"NegativeStale":    {nil, map[string]string{"SCRIBE_STALE_AFTER": "-1m"}, "SCRIBE_STALE_AFTER must not be negative"},
		"NegativeMaxBytes": {nil, map[string]string{"SCRIBE_MAX_UPLOAD_BYTES": "-1"}, "SCRIBE_MAX_UPLOAD_BYTES must be positive"},
		"UpstreamNoKey":    {nil, map[string]string{"DEEPSCRIPT_URL": "https://api.example"}, "DEEPSCRIPT_API_KEY is required with DEEPSCRIPT_URL"},
		"UnknownSignup":    {nil, map[string]string{"SCRIBE_SIGNUP": "maybe"}, "SCRIBE_SIGNUP must be open, invite or closed"},
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
		if got, want := err.Error(), `unknown command "bogus": want serve or engine`; got != want {
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
