package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"scribe/handlers"
)

// Config is the web app's configuration: environment variables, then flags.
type Config struct {
	Addr             string        // SCRIBE_ADDR
	DataDir          string        // SCRIBE_DATA_DIR
	PublicURL        string        // SCRIBE_PUBLIC_URL; empty means http://<listening address>
	DeepScriptURL    string        // DEEPSCRIPT_URL; empty starts the embedded engine
	DeepScriptAPIKey string        // DEEPSCRIPT_API_KEY
	PollInterval     time.Duration // SCRIBE_POLL_INTERVAL
	StaleAfter       time.Duration // SCRIBE_STALE_AFTER
	MaxUploadBytes   int64         // SCRIBE_MAX_UPLOAD_BYTES
	Signup           string        // SCRIBE_SIGNUP: open, invite or closed
}

// defaultConfig is the configuration with nothing set.
func defaultConfig() Config {
	return Config{
		Addr:           "127.0.0.1:8080",
		DataDir:        "./data",
		PollInterval:   10 * time.Minute,
		StaleAfter:     30 * time.Minute,
		MaxUploadBytes: 2 << 30,
		Signup:         handlers.SignupInvite, // a server on the internet is not open to all by default
	}
}

// loadConfig reads the environment, then flags from args, which override it.
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	c := defaultConfig()
	var errs []error
	env := func(name string, set func(string) error) {
		if v := getenv(name); v != "" {
			if err := set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
			}
		}
	}
	setString := func(dst *string) func(string) error { return func(v string) error { *dst = v; return nil } }
	setDuration := func(dst *time.Duration) func(string) error {
		return func(v string) (err error) { *dst, err = time.ParseDuration(v); return err }
	}
	env("SCRIBE_ADDR", setString(&c.Addr))
	env("SCRIBE_DATA_DIR", setString(&c.DataDir))
	env("SCRIBE_PUBLIC_URL", setString(&c.PublicURL))
	env("DEEPSCRIPT_URL", setString(&c.DeepScriptURL))
	env("DEEPSCRIPT_API_KEY", setString(&c.DeepScriptAPIKey))
	env("SCRIBE_POLL_INTERVAL", setDuration(&c.PollInterval))
	env("SCRIBE_STALE_AFTER", setDuration(&c.StaleAfter))
	env("SCRIBE_SIGNUP", setString(&c.Signup))
	env("SCRIBE_MAX_UPLOAD_BYTES", func(v string) (err error) { c.MaxUploadBytes, err = strconv.ParseInt(v, 10, 64); return err })
	if err := errors.Join(errs...); err != nil {
		return c, err
	}

	fs := flag.NewFlagSet("scribe serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (SCRIBE_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the database and uploads (SCRIBE_DATA_DIR)")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "base URL the upstream posts webhooks to (SCRIBE_PUBLIC_URL)")
	fs.StringVar(&c.DeepScriptURL, "deepscript-url", c.DeepScriptURL, "DeepScript API base URL; empty runs the embedded engine (DEEPSCRIPT_URL)")
	fs.StringVar(&c.DeepScriptAPIKey, "deepscript-api-key", c.DeepScriptAPIKey, "DeepScript API key (DEEPSCRIPT_API_KEY)")
	fs.DurationVar(&c.PollInterval, "poll-interval", c.PollInterval, "time between backstop polls (SCRIBE_POLL_INTERVAL)")
	fs.DurationVar(&c.StaleAfter, "stale-after", c.StaleAfter, "age after which an unfinished job is polled (SCRIBE_STALE_AFTER)")
	fs.Int64Var(&c.MaxUploadBytes, "max-upload-bytes", c.MaxUploadBytes, "largest upload accepted (SCRIBE_MAX_UPLOAD_BYTES)")
	fs.StringVar(&c.Signup, "signup", c.Signup, "who may sign up: open, invite (the first account needs none) or closed (SCRIBE_SIGNUP)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("SCRIBE_ADDR is empty"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("SCRIBE_DATA_DIR is empty"))
	}
	if c.PollInterval <= 0 {
		errs = append(errs, errors.New("SCRIBE_POLL_INTERVAL must be positive"))
	}
	if c.StaleAfter < 0 {
		errs = append(errs, errors.New("SCRIBE_STALE_AFTER must not be negative"))
	}
	if c.MaxUploadBytes <= 0 {
		errs = append(errs, errors.New("SCRIBE_MAX_UPLOAD_BYTES must be positive"))
	}
	if c.Signup != handlers.SignupOpen && c.Signup != handlers.SignupInvite && c.Signup != handlers.SignupClosed {
		errs = append(errs, fmt.Errorf("SCRIBE_SIGNUP must be open, invite or closed, got %q", c.Signup))
	}
	for name, v := range map[string]string{"SCRIBE_PUBLIC_URL": c.PublicURL, "DEEPSCRIPT_URL": c.DeepScriptURL} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s must be an http(s) URL, got %q", name, v))
		}
	}
	if c.DeepScriptURL != "" && c.DeepScriptAPIKey == "" {
		errs = append(errs, errors.New("DEEPSCRIPT_API_KEY is required with DEEPSCRIPT_URL"))
	}
	return errors.Join(errs...)
}

// webhookURL is where the upstream delivers events.
func (c Config) webhookURL() string {
	return strings.TrimRight(c.PublicURL, "/") + "/webhooks/deepscript"
}

// secureCookies reports whether the app is served over https, so its
// cookies must be Secure. The scheme is case-insensitive ("HTTPS://" too).
func (c Config) secureCookies() bool {
	u, err := url.Parse(c.PublicURL)
	return err == nil && u.Scheme == "https"
}
