package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"scribe/handlers"
	"scribe/settings"
)

// Config is the web app's configuration: environment variables, then flags.
type Config struct {
	Addr             string
	DataDir          string
	PublicURL        string // empty means http://<listening address>
	DeepScriptURL    string // empty starts the embedded engine
	DeepScriptAPIKey string
	PollInterval     time.Duration
	StaleAfter       time.Duration
	MaxUploadBytes   int64
	Signup           string // open, invite or closed
}

// table declares the app's settings, each once; building it sets c to the
// defaults.
func (c *Config) table() *settings.Table {
	return settings.New("scribe serve",
		settings.Setting{Env: "SCRIBE_ADDR", Flag: "addr", Value: settings.String(&c.Addr, "127.0.0.1:8080"),
			Help: "listen address"},
		settings.Setting{Env: "SCRIBE_DATA_DIR", Flag: "data-dir", Value: settings.String(&c.DataDir, "./data"),
			Help: "directory for the database and uploads"},
		settings.Setting{Env: "SCRIBE_PUBLIC_URL", Flag: "public-url", Value: settings.URL(&c.PublicURL, ""),
			Help: "base URL the upstream posts webhooks to; empty means http:// and the listen address"},
		settings.Setting{Env: "DEEPSCRIPT_URL", Flag: "deepscript-url", Value: settings.URL(&c.DeepScriptURL, ""),
			Help: "DeepScript API base URL; empty runs the embedded engine"},
		settings.Setting{Env: "DEEPSCRIPT_API_KEY", Flag: "deepscript-api-key", Value: settings.String(&c.DeepScriptAPIKey, ""),
			Help: "DeepScript API key"},
		settings.Setting{Env: "SCRIBE_POLL_INTERVAL", Flag: "poll-interval", Value: settings.Duration(&c.PollInterval, 10*time.Minute),
			Help: "time between backstop polls"},
		settings.Setting{Env: "SCRIBE_STALE_AFTER", Flag: "stale-after", Value: settings.Duration(&c.StaleAfter, 30*time.Minute),
			Help: "age after which an unfinished job is polled"},
		settings.Setting{Env: "SCRIBE_MAX_UPLOAD_BYTES", Flag: "max-upload-bytes", Value: settings.Bytes(&c.MaxUploadBytes, 2<<30),
			Help: "largest upload accepted"},
		settings.Setting{Env: "SCRIBE_SIGNUP", Flag: "signup", Value: settings.String(&c.Signup, handlers.SignupInvite),
			Help: "who may sign up: open, invite (an admin's link; the first account needs none) or closed"},
	)
}

// loadConfig reads the environment, then flags from args, which override
// it. -h writes the usage to stdout and returns flag.ErrHelp.
func loadConfig(args []string, getenv func(string) string, stdout io.Writer) (Config, error) {
	var c Config
	if err := c.table().Parse(args, getenv, stdout); err != nil {
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
