package engine

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"runtime"
	"time"

	"scribe/engine/speech"
	"scribe/settings"
	"scribe/sqldb"
)

// Recognizer kinds accepted by Config.RecognizerKind.
const (
	RecognizerPocketsphinx = "pocketsphinx"
	RecognizerHTTP         = "http"
)

// Config is everything the engine needs to start. LoadConfig sets it from
// the SCRIBE_ENGINE_* variables, then from flags of the same meaning.
type Config struct {
	Addr           string          // listen address; "127.0.0.1:0" picks a free port
	DataDir        string          // holds engine.db and the uploaded audio (by default)
	APIKey         string          // the Bearer key every request must carry
	Workers        int             // jobs run at once
	WebhookRetry   []time.Duration // delays between delivery attempts, then give up
	WebhookTimeout time.Duration   // per delivery attempt
	MaxUploadBytes int64           // largest accepted audio file
	MaxQueued      int             // jobs waiting to be processed before creates get 429; 0 = no cap

	// DatabaseURL, when set (postgres://…), holds the engine's state in
	// PostgreSQL instead of DataDir/engine.db, shared by every node
	// pointed at it; StorageURL (file:///dir), when set, is where the
	// uploaded audio goes instead of DataDir/audio: a directory every
	// node can read. Nodes with their own DataDir and the same two URLs
	// form one engine.
	DatabaseURL string
	StorageURL  string
	// Lease is how long a node's claim on a job lasts without renewal (it
	// is renewed every third of it): after a node dies, its job waits
	// this long before another node runs it.
	Lease time.Duration

	// BalanceSeconds is the audio seconds the account may submit (0 =
	// unlimited); BalanceLowSeconds the threshold for balance.low (0 =
	// never sent).
	BalanceSeconds    float64
	BalanceLowSeconds float64

	// RecognizerKind chooses the recognizer Start opens: pocketsphinx
	// (offline) or http (an OpenAI-compatible endpoint at RecognizerURL).
	RecognizerKind  string
	RecognizerURL   string
	RecognizerKey   string
	RecognizerModel string

	// Recognizer, when set, is used instead of opening one. The caller owns
	// it: Shutdown does not close it.
	Recognizer speech.Recognizer

	// PingInterval is how often an idle SSE stream gets a ": ping" comment.
	PingInterval time.Duration
	// Now is the clock (tests move it); nil means time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults: the webhook retry schedule and 15 s
// attempt timeout of the hosted DeepScript service (docs/deepscript-api.md),
// the app's 2 GiB upload limit, one worker per core and the offline
// recognizer.
func DefaultConfig() Config {
	c := Config{
		WebhookTimeout: 15 * time.Second,
		// The contract wants a ping at least every 15 s; 10 s leaves room
		// for timer and network delay.
		PingInterval: 10 * time.Second,
	}
	c.table()
	return c
}

// table declares the engine's settings, each once; building it sets them
// to their defaults.
func (c *Config) table() *settings.Table {
	return settings.New("scribe engine",
		settings.Setting{Env: "SCRIBE_ENGINE_ADDR", Flag: "addr", Value: settings.String(&c.Addr, "127.0.0.1:8081"),
			Help: "listen address"},
		settings.Setting{Env: "SCRIBE_ENGINE_DATA_DIR", Flag: "data-dir", Value: settings.String(&c.DataDir, "./data/engine"),
			Help: "directory for the database and audio"},
		settings.Setting{Env: "SCRIBE_ENGINE_DATABASE_URL", Flag: "database-url", Value: settings.String(&c.DatabaseURL, ""),
			Help: "postgres://… URL of a database shared by several engine nodes; empty = SQLite in the data dir"},
		settings.Setting{Env: "SCRIBE_ENGINE_STORAGE_URL", Flag: "storage-url", Value: settings.String(&c.StorageURL, ""),
			Help: "file:///dir for uploaded audio, shared by every engine node; empty = the data dir's audio directory"},
		settings.Setting{Env: "SCRIBE_ENGINE_LEASE", Flag: "lease", Value: settings.Duration(&c.Lease, 30*time.Second),
			Help: "how long a node's claim on a job lasts unless renewed; a dead node's job is retried after it"},
		settings.Setting{Env: "SCRIBE_ENGINE_API_KEY", Flag: "api-key", Value: settings.String(&c.APIKey, ""),
			Help: "Bearer API key clients must send (required)"},
		settings.Setting{Env: "SCRIBE_ENGINE_WORKERS", Flag: "workers", Value: settings.Int(&c.Workers, runtime.NumCPU()),
			Help: "jobs transcribed at once; the default is the number of cores"},
		settings.Setting{Env: "SCRIBE_ENGINE_WEBHOOK_RETRY", Flag: "webhook-retry",
			Value: settings.Durations(&c.WebhookRetry, 5*time.Second, 5*time.Minute, 30*time.Minute, 2*time.Hour, 5*time.Hour, 10*time.Hour),
			Help:  "comma list of delays between webhook attempts"},
		settings.Setting{Env: "SCRIBE_ENGINE_MAX_UPLOAD_BYTES", Flag: "max-upload-bytes", Value: settings.Bytes(&c.MaxUploadBytes, 2<<30),
			Help: "largest accepted upload"},
		settings.Setting{Env: "SCRIBE_ENGINE_MAX_QUEUED", Flag: "max-queued", Value: settings.Int(&c.MaxQueued, 1000),
			Help: "jobs waiting to be processed before new ones get 429 with Retry-After, 0 = no cap"},
		settings.Setting{Env: "SCRIBE_ENGINE_BALANCE_SECONDS", Flag: "balance-seconds", Value: settings.Float(&c.BalanceSeconds, 0),
			Help: "audio seconds the account may use, 0 = unlimited"},
		settings.Setting{Env: "SCRIBE_ENGINE_BALANCE_LOW_SECONDS", Flag: "balance-low-seconds", Value: settings.Float(&c.BalanceLowSeconds, 0),
			Help: "threshold for balance.low, 0 = never"},
		settings.Setting{Env: "SCRIBE_ENGINE_RECOGNIZER", Flag: "recognizer", Value: settings.String(&c.RecognizerKind, RecognizerPocketsphinx),
			Help: "pocketsphinx or http"},
		settings.Setting{Env: "SCRIBE_ENGINE_RECOGNIZER_URL", Flag: "recognizer-url", Value: settings.URL(&c.RecognizerURL, ""),
			Help: "base URL of the http recognizer"},
		settings.Setting{Env: "SCRIBE_ENGINE_RECOGNIZER_KEY", Flag: "recognizer-key", Value: settings.String(&c.RecognizerKey, ""),
			Help: "API key of the http recognizer"},
		settings.Setting{Env: "SCRIBE_ENGINE_RECOGNIZER_MODEL", Flag: "recognizer-model", Value: settings.String(&c.RecognizerModel, ""),
			Help: "model of the http recognizer"},
	)
}

// AudioDir is where uploaded audio is kept: the storage URL's directory,
// or DataDir/audio.
func (c Config) AudioDir() string {
	if dir, err := storageDir(c.StorageURL); err == nil && dir != "" {
		return dir
	}
	return filepath.Join(c.DataDir, "audio")
}

// storageDir is the directory a file:///dir storage URL names; "" for an
// empty URL.
func storageDir(rawURL string) (string, error) {
	if rawURL == "" {
		return "", nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("storage URL: %w", err)
	}
	if u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") || !filepath.IsAbs(u.Path) {
		return "", fmt.Errorf("storage URL: want file:///absolute/dir, got %q", rawURL)
	}
	return filepath.Clean(u.Path), nil
}

// LoadConfig returns DefaultConfig overridden by the SCRIBE_ENGINE_*
// variables that getenv reports non-empty, then by the flags in args. -h
// writes the usage to stdout and returns flag.ErrHelp.
func LoadConfig(args []string, getenv func(string) string, stdout io.Writer) (Config, error) {
	c := DefaultConfig()
	err := c.table().Parse(args, getenv, stdout)
	return c, err
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("engine: "+format, args...)) }
	if c.Addr == "" {
		bad("listen address is empty")
	}
	if c.DataDir == "" {
		bad("data dir is empty")
	}
	if c.APIKey == "" {
		bad("API key is required (SCRIBE_ENGINE_API_KEY)")
	}
	if _, err := sqldb.DialectOf(c.DatabaseURL); err != nil {
		bad("%v", err)
	}
	if _, err := storageDir(c.StorageURL); err != nil {
		bad("%v", err)
	}
	if c.Lease < 100*time.Millisecond {
		bad("lease must be at least 100ms, not %s", c.Lease)
	}
	if c.Workers < 1 {
		bad("workers must be at least 1, not %d", c.Workers)
	}
	for _, d := range c.WebhookRetry {
		if d <= 0 {
			bad("webhook retry delays must be positive, not %s", d)
		}
	}
	if c.WebhookTimeout <= 0 {
		bad("webhook timeout must be positive")
	}
	if c.MaxUploadBytes <= 0 {
		bad("max upload bytes must be positive")
	}
	if c.MaxQueued < 0 {
		bad("max queued must not be negative, not %d", c.MaxQueued)
	}
	if c.BalanceSeconds < 0 || c.BalanceLowSeconds < 0 {
		bad("balance settings must not be negative")
	}
	if c.PingInterval <= 0 || c.PingInterval > 15*time.Second {
		bad("SSE ping interval must be in (0, 15s], not %s", c.PingInterval)
	}
	if c.Recognizer == nil {
		switch c.RecognizerKind {
		case RecognizerPocketsphinx:
		case RecognizerHTTP:
			if c.RecognizerURL == "" {
				bad("the http recognizer needs a URL (SCRIBE_ENGINE_RECOGNIZER_URL)")
			}
		default:
			bad("unknown recognizer %q: want pocketsphinx or http", c.RecognizerKind)
		}
	}
	return errors.Join(errs...)
}
