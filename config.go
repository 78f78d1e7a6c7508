package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"scribe/handlers"
	"scribe/relay"
	"scribe/settings"
	"scribe/sqldb"
)

// Config is the web app's configuration: environment variables, then flags.
type Config struct {
	Addr        string
	DataDir     string
	DatabaseURL string // postgres://…; empty means SQLite in DataDir
	// UploadsURL is where uploaded audio lives, file:///dir; empty means
	// DataDir/uploads. Replicas share one.
	UploadsURL       string
	PublicURL        string // empty means http://<listening address>
	DeepScriptURL    string // empty starts the embedded engine
	DeepScriptAPIKey string
	PollInterval     time.Duration
	PollMaxInterval  time.Duration
	StaleAfter       time.Duration
	MaxUploadBytes   int64
	Signup           string // open, invite or closed

	// Per-user limits (0 = no limit) and the disk reserve.
	MaxFilesPerUpload int
	MaxStreamsPerUser int
	// MaxUpstreamStreams caps the upstream event streams followed at once.
	MaxUpstreamStreams int
	MaxQueuedPerUser   int
	MaxFileDuration    time.Duration
	DailyAudioPerUser  time.Duration
	MinFreeBytes       int64

	// MetricsAddr, when set, serves /metrics on a listener of its own;
	// MetricsToken, when set, serves it on the main listener to a Bearer of
	// it. With neither, /metrics is not served.
	MetricsAddr  string
	MetricsToken string

	// WebhookAllowPrivate lets users' webhook endpoints be on loopback
	// and private addresses (local tools, tests).
	WebhookAllowPrivate bool
}

// minMetricsToken is the shortest SCRIBE_METRICS_TOKEN accepted.
const minMetricsToken = 16

// table declares the app's settings, each once; building it sets c to the
// defaults.
func (c *Config) table() *settings.Table {
	return settings.New("scribe serve",
		settings.Setting{Env: "SCRIBE_ADDR", Flag: "addr", Value: settings.String(&c.Addr, "127.0.0.1:8080"),
			Help: "listen address"},
		dataDirSetting(&c.DataDir),
		databaseURLSetting(&c.DatabaseURL),
		settings.Setting{Env: "SCRIBE_UPLOADS_URL", Flag: "uploads-url", Value: settings.String(&c.UploadsURL, ""),
			Help: "where uploaded audio is kept, file:///path/to/dir (shared by replicas); empty means the data dir's uploads"},
		settings.Setting{Env: "SCRIBE_PUBLIC_URL", Flag: "public-url", Value: settings.URL(&c.PublicURL, ""),
			Help: "base URL the upstream posts webhooks to; empty means http:// and the listen address"},
		settings.Setting{Env: "DEEPSCRIPT_URL", Flag: "deepscript-url", Value: settings.URL(&c.DeepScriptURL, ""),
			Help: "DeepScript API base URL; empty runs the embedded engine"},
		settings.Setting{Env: "DEEPSCRIPT_API_KEY", Flag: "deepscript-api-key", Value: settings.String(&c.DeepScriptAPIKey, ""),
			Help: "DeepScript API key"},
		settings.Setting{Env: "SCRIBE_POLL_INTERVAL", Flag: "poll-interval", Value: settings.Duration(&c.PollInterval, 10*time.Minute),
			Help: "first wait between backstop polls of a job; each later wait doubles"},
		settings.Setting{Env: "SCRIBE_POLL_MAX_INTERVAL", Flag: "poll-max-interval", Value: settings.Duration(&c.PollMaxInterval, 2*time.Hour),
			Help: "longest wait between backstop polls of a job"},
		settings.Setting{Env: "SCRIBE_STALE_AFTER", Flag: "stale-after", Value: settings.Duration(&c.StaleAfter, 30*time.Minute),
			Help: "age after which an unfinished job is polled"},
		settings.Setting{Env: "SCRIBE_MAX_UPLOAD_BYTES", Flag: "max-upload-bytes", Value: settings.Bytes(&c.MaxUploadBytes, 2<<30),
			Help: "largest upload accepted"},
		settings.Setting{Env: "SCRIBE_SIGNUP", Flag: "signup", Value: settings.String(&c.Signup, handlers.SignupInvite),
			Help: "who may sign up: open, invite (an admin's link; the first account needs none) or closed"},
		// The limit defaults are what a small team's server allows each
		// person: a morning's recordings in one go, a working day of audio
		// a day, and a browser's worth of open pages.
		settings.Setting{Env: "SCRIBE_MAX_FILES_PER_UPLOAD", Flag: "max-files-per-upload", Value: settings.Int(&c.MaxFilesPerUpload, 20),
			Help: "files one upload may carry, 0 = no limit"},
		settings.Setting{Env: "SCRIBE_MAX_STREAMS_PER_USER", Flag: "max-streams-per-user", Value: settings.Int(&c.MaxStreamsPerUser, 32),
			Help: "live event streams one person may hold open, 0 = no limit"},
		settings.Setting{Env: "SCRIBE_MAX_UPSTREAM_STREAMS", Flag: "max-upstream-streams", Value: settings.Int(&c.MaxUpstreamStreams, relay.DefaultMaxStreams),
			Help: "upstream event streams followed at once (jobs a browser is watching first), 0 = no limit"},
		settings.Setting{Env: "SCRIBE_MAX_QUEUED_PER_USER", Flag: "max-queued-per-user", Value: settings.Int(&c.MaxQueuedPerUser, 100),
			Help: "jobs one person may have queued or processing, 0 = no limit"},
		settings.Setting{Env: "SCRIBE_MAX_FILE_DURATION", Flag: "max-file-duration", Value: settings.Duration(&c.MaxFileDuration, 4*time.Hour),
			Help: "longest audio file accepted, 0 = no limit"},
		settings.Setting{Env: "SCRIBE_DAILY_AUDIO_PER_USER", Flag: "daily-audio-per-user", Value: settings.Duration(&c.DailyAudioPerUser, 12*time.Hour),
			Help: "audio one person may upload in a rolling 24 hours, 0 = no limit"},
		settings.Setting{Env: "SCRIBE_MIN_FREE_BYTES", Flag: "min-free-bytes", Value: settings.Bytes(&c.MinFreeBytes, 64<<20),
			Help: "disk space uploads must leave free; below it uploads get 507 and /healthz reports the disk low"},
		settings.Setting{Env: "SCRIBE_METRICS_ADDR", Flag: "metrics-addr", Value: settings.String(&c.MetricsAddr, ""),
			Help: "address of a listener serving only /metrics; empty serves none"},
		settings.Setting{Env: "SCRIBE_METRICS_TOKEN", Flag: "metrics-token", Value: settings.String(&c.MetricsToken, ""),
			Help: "serve /metrics on the main listener to requests with Authorization: Bearer TOKEN; empty means 404 there"},
		settings.Setting{Env: "SCRIBE_WEBHOOK_ALLOW_PRIVATE", Flag: "webhook-allow-private", Value: settings.Bool(&c.WebhookAllowPrivate, false),
			Help: "let users' webhook endpoints be on loopback and private addresses, over http too (local tools, tests)"},
	)
}

// dataDirSetting is the data directory's setting, which scribe backup
// shares.
func dataDirSetting(p *string) settings.Setting {
	return settings.Setting{Env: "SCRIBE_DATA_DIR", Flag: "data-dir", Value: settings.String(p, "./data"),
		Help: "directory for the database and uploads"}
}

// databaseURLSetting is the database's setting, which scribe backup
// shares.
func databaseURLSetting(p *string) settings.Setting {
	return settings.Setting{Env: "SCRIBE_DATABASE_URL", Flag: "database-url", Value: settings.String(p, ""),
		Help: "PostgreSQL database for the app's state, postgres://user:password@host/db (the data directory then keeps " +
			"uploads and scratch files); empty keeps SQLite in the data directory"}
}

// checkDatabaseURL says what is wrong with a SCRIBE_DATABASE_URL, without
// repeating it: it may hold a password.
func checkDatabaseURL(u string) error {
	if _, err := sqldb.DialectOf(u); err != nil {
		return errors.New("SCRIBE_DATABASE_URL must be a postgres:// URL, or empty for SQLite in the data directory")
	}
	return nil
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
	if err := checkDatabaseURL(c.DatabaseURL); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.uploadDir(); err != nil {
		errs = append(errs, err)
	}
	if c.PollInterval <= 0 {
		errs = append(errs, errors.New("SCRIBE_POLL_INTERVAL must be positive"))
	}
	if c.PollMaxInterval <= 0 {
		errs = append(errs, errors.New("SCRIBE_POLL_MAX_INTERVAL must be positive"))
	}
	if c.StaleAfter < 0 {
		errs = append(errs, errors.New("SCRIBE_STALE_AFTER must not be negative"))
	}
	if c.MaxUploadBytes <= 0 {
		errs = append(errs, errors.New("SCRIBE_MAX_UPLOAD_BYTES must be positive"))
	}
	for _, n := range []struct {
		env string
		n   int64
	}{
		{"SCRIBE_MAX_FILES_PER_UPLOAD", int64(c.MaxFilesPerUpload)},
		{"SCRIBE_MAX_STREAMS_PER_USER", int64(c.MaxStreamsPerUser)},
		{"SCRIBE_MAX_UPSTREAM_STREAMS", int64(c.MaxUpstreamStreams)},
		{"SCRIBE_MAX_QUEUED_PER_USER", int64(c.MaxQueuedPerUser)},
		{"SCRIBE_MAX_FILE_DURATION", int64(c.MaxFileDuration)},
		{"SCRIBE_DAILY_AUDIO_PER_USER", int64(c.DailyAudioPerUser)},
		{"SCRIBE_MIN_FREE_BYTES", c.MinFreeBytes},
	} {
		if n.n < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", n.env))
		}
	}
	// A short token could be guessed through the public listener.
	if c.MetricsToken != "" && len(c.MetricsToken) < minMetricsToken {
		errs = append(errs, fmt.Errorf("SCRIBE_METRICS_TOKEN must be at least %d characters", minMetricsToken))
	}
	if c.MetricsAddr != "" && c.MetricsAddr == c.Addr {
		errs = append(errs, errors.New("SCRIBE_METRICS_ADDR must differ from SCRIBE_ADDR"))
	}
	if c.Signup != handlers.SignupOpen && c.Signup != handlers.SignupInvite && c.Signup != handlers.SignupClosed {
		errs = append(errs, fmt.Errorf("SCRIBE_SIGNUP must be open, invite or closed, got %q", c.Signup))
	}
	if c.DeepScriptURL != "" && c.DeepScriptAPIKey == "" {
		errs = append(errs, errors.New("DEEPSCRIPT_API_KEY is required with DEEPSCRIPT_URL"))
	}
	return errors.Join(errs...)
}

// limits are the per-user limits the handlers enforce.
func (c Config) limits() handlers.Limits {
	return handlers.Limits{
		FilesPerUpload: c.MaxFilesPerUpload,
		StreamsPerUser: c.MaxStreamsPerUser,
		QueuedPerUser:  c.MaxQueuedPerUser,
		MaxFileSeconds: c.MaxFileDuration.Seconds(),
		DailySeconds:   c.DailyAudioPerUser.Seconds(),
	}
}

// uploadDir is the directory uploads are kept in: SCRIBE_UPLOADS_URL's
// path, or the data dir's uploads.
func (c Config) uploadDir() (string, error) {
	if c.UploadsURL == "" {
		return filepath.Join(c.DataDir, "uploads"), nil
	}
	u, err := url.Parse(c.UploadsURL)
	if err != nil || u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") || !filepath.IsAbs(u.Path) || u.RawQuery != "" {
		return "", fmt.Errorf("SCRIBE_UPLOADS_URL must be file:///absolute/path, got %q", c.UploadsURL)
	}
	return filepath.Clean(u.Path), nil
}

// sharedUploads reports whether uploads live outside the data dir, where
// other replicas may be writing them.
func (c Config) sharedUploads() bool { return c.UploadsURL != "" }

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
