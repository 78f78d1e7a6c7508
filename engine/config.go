package engine

import (
	"errors"
	"flag"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"scribe/engine/speech"
)

// Recognizer kinds accepted by Config.RecognizerKind.
const (
	RecognizerPocketsphinx = "pocketsphinx"
	RecognizerHTTP         = "http"
)

// Config is everything the engine needs to start. Environment variables
// (SCRIBE_ENGINE_*) set it through ConfigFromEnv; flags mirror them.
type Config struct {
	Addr           string          // listen address; "127.0.0.1:0" picks a free port
	DataDir        string          // holds engine.db and the uploaded audio
	APIKey         string          // the Bearer key every request must carry
	Workers        int             // jobs run at once
	WebhookRetry   []time.Duration // delays between delivery attempts, then give up
	WebhookTimeout time.Duration   // per delivery attempt
	MaxUploadBytes int64           // largest accepted audio file

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
	return Config{
		Addr:           "127.0.0.1:8081",
		DataDir:        "./data/engine",
		Workers:        runtime.NumCPU(),
		WebhookRetry:   []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour},
		WebhookTimeout: 15 * time.Second,
		MaxUploadBytes: 2 << 30,
		RecognizerKind: RecognizerPocketsphinx,
		// The contract wants a ping at least every 15 s; 10 s leaves room
		// for timer and network delay.
		PingInterval: 10 * time.Second,
	}
}

// ConfigFromEnv returns DefaultConfig overridden by the SCRIBE_ENGINE_*
// variables that getenv reports non-empty.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	var errs []error
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	parse := func(name string, set func(string) error) {
		if v := getenv(name); v != "" {
			if err := set(v); err != nil {
				errs = append(errs, fmt.Errorf("engine: %s=%q: %w", name, v, err))
			}
		}
	}
	str("SCRIBE_ENGINE_ADDR", &c.Addr)
	str("SCRIBE_ENGINE_DATA_DIR", &c.DataDir)
	str("SCRIBE_ENGINE_API_KEY", &c.APIKey)
	parse("SCRIBE_ENGINE_WORKERS", intValue{&c.Workers}.Set)
	parse("SCRIBE_ENGINE_WEBHOOK_RETRY", (*durationList)(&c.WebhookRetry).Set)
	parse("SCRIBE_ENGINE_MAX_UPLOAD_BYTES", int64Value{&c.MaxUploadBytes}.Set)
	parse("SCRIBE_ENGINE_BALANCE_SECONDS", floatValue{&c.BalanceSeconds}.Set)
	parse("SCRIBE_ENGINE_BALANCE_LOW_SECONDS", floatValue{&c.BalanceLowSeconds}.Set)
	str("SCRIBE_ENGINE_RECOGNIZER", &c.RecognizerKind)
	str("SCRIBE_ENGINE_RECOGNIZER_URL", &c.RecognizerURL)
	str("SCRIBE_ENGINE_RECOGNIZER_KEY", &c.RecognizerKey)
	str("SCRIBE_ENGINE_RECOGNIZER_MODEL", &c.RecognizerModel)
	return c, errors.Join(errs...)
}

// RegisterFlags defines one flag per environment variable on fs, with the
// current values of c as defaults, so flags override the environment.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (SCRIBE_ENGINE_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the database and audio (SCRIBE_ENGINE_DATA_DIR)")
	fs.StringVar(&c.APIKey, "api-key", c.APIKey, "Bearer API key clients must send (SCRIBE_ENGINE_API_KEY)")
	fs.IntVar(&c.Workers, "workers", c.Workers, "jobs transcribed at once (SCRIBE_ENGINE_WORKERS)")
	fs.Var((*durationList)(&c.WebhookRetry), "webhook-retry", "comma list of delays between webhook attempts (SCRIBE_ENGINE_WEBHOOK_RETRY)")
	fs.Int64Var(&c.MaxUploadBytes, "max-upload-bytes", c.MaxUploadBytes, "largest accepted upload (SCRIBE_ENGINE_MAX_UPLOAD_BYTES)")
	fs.Float64Var(&c.BalanceSeconds, "balance-seconds", c.BalanceSeconds, "audio seconds the account may use, 0 = unlimited (SCRIBE_ENGINE_BALANCE_SECONDS)")
	fs.Float64Var(&c.BalanceLowSeconds, "balance-low-seconds", c.BalanceLowSeconds, "threshold for balance.low, 0 = never (SCRIBE_ENGINE_BALANCE_LOW_SECONDS)")
	fs.StringVar(&c.RecognizerKind, "recognizer", c.RecognizerKind, "pocketsphinx or http (SCRIBE_ENGINE_RECOGNIZER)")
	fs.StringVar(&c.RecognizerURL, "recognizer-url", c.RecognizerURL, "base URL of the http recognizer (SCRIBE_ENGINE_RECOGNIZER_URL)")
	fs.StringVar(&c.RecognizerKey, "recognizer-key", c.RecognizerKey, "API key of the http recognizer (SCRIBE_ENGINE_RECOGNIZER_KEY)")
	fs.StringVar(&c.RecognizerModel, "recognizer-model", c.RecognizerModel, "model of the http recognizer (SCRIBE_ENGINE_RECOGNIZER_MODEL)")
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

// durationList is a flag.Value for "5s,5m,30m".
type durationList []time.Duration

func (l *durationList) String() string {
	if l == nil {
		return ""
	}
	parts := make([]string, len(*l))
	for i, d := range *l {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

func (l *durationList) Set(s string) error {
	var list []time.Duration
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := time.ParseDuration(part)
		if err != nil {
			return err
		}
		list = append(list, d)
	}
	*l = list
	return nil
}

type intValue struct{ p *int }

func (v intValue) Set(s string) (err error) { *v.p, err = strconv.Atoi(s); return err }

type int64Value struct{ p *int64 }

func (v int64Value) Set(s string) (err error) { *v.p, err = strconv.ParseInt(s, 10, 64); return err }

type floatValue struct{ p *float64 }

func (v floatValue) Set(s string) (err error) { *v.p, err = strconv.ParseFloat(s, 64); return err }
