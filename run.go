package main

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"scribe/backstop"
	"scribe/client"
	"scribe/deepscript"
	"scribe/dirlock"
	"scribe/engine"
	"scribe/handlers"
	"scribe/metrics"
	"scribe/outbox"
	"scribe/random"
	"scribe/relay"
	"scribe/settings"
	"scribe/store"
	"scribe/submit"
)

// drainTimeout bounds how long shutdown waits for requests in flight.
const drainTimeout = 20 * time.Second

// run is the whole program: it parses args (a command, serve by default,
// then flags), opens every component, serves until ctx ends, then closes
// them in reverse order. Tests call it too; it writes "scribe: listening on
// URL" to stdout once it accepts requests.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	command := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		command, args = args[0], args[1:]
	}
	switch command {
	case "engine":
		return engine.Main(ctx, args, getenv, stdout)
	case "backup":
		return backup(ctx, args, getenv, stdout)
	case "client":
		return client.Main(ctx, args, getenv, stdout, os.Stderr)
	case "serve":
	default:
		return &settings.UsageError{Command: "scribe", Err: fmt.Errorf("unknown command %q: want serve, engine, backup or client", command)}
	}
	cfg, err := loadConfig(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h printed the usage; that is not a failure
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))

	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "uploads"), 0o700); err != nil {
		return fmt.Errorf("unable to create data dir: %w", err)
	}
	// First of all: a second instance on this directory must change nothing.
	lock, err := dirlock.Acquire(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Release()
	db, err := store.Open(ctx, store.Options{URL: cfg.DatabaseURL, Path: filepath.Join(cfg.DataDir, "scribe.db")})
	if err != nil {
		return err
	}
	defer db.Close()
	sessionKeys, err := loadOrCreateKeys(filepath.Join(cfg.DataDir, "session.keys"))
	if err != nil {
		return err
	}

	upstreamURL, apiKey := cfg.DeepScriptURL, cfg.DeepScriptAPIKey
	engineName := "DeepScript"
	if u, err := url.Parse(upstreamURL); err == nil && u.Host != "" {
		engineName += " at " + u.Host // the host only: a URL may carry credentials
	}
	if upstreamURL == "" {
		engineName = "scribe embedded engine (pocketsphinx, English)"
		eng, key, err := startEmbeddedEngine(ctx, cfg, getenv, log)
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
			defer cancel()
			if err := eng.Shutdown(sctx); err != nil {
				log.Error("engine shutdown", "error", err)
			}
		}()
		upstreamURL, apiKey = eng.URL(), key
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("unable to listen on %s: %w", cfg.Addr, err)
	}
	var metricsLn net.Listener
	if cfg.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("unable to listen on %s for metrics: %w", cfg.MetricsAddr, err)
		}
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}

	m := metrics.New()
	client := deepscript.New(upstreamURL, apiKey, nil)
	client.Logger = log
	rel := relay.New(db, client, m, log)
	rel.MaxStreams = cfg.MaxUpstreamStreams
	if _, err := rel.SweepUploads(ctx, filepath.Join(cfg.DataDir, "uploads")); err != nil {
		return err
	}
	sub := submit.New(db, client, rel, m, log, cfg.webhookURL())
	poller := backstop.New(db, client, rel, m, log, cfg.PollInterval, cfg.StaleAfter)
	poller.MaxInterval = cfg.PollMaxInterval
	hooks := outbox.New(db, outbox.Config{AllowPrivate: cfg.WebhookAllowPrivate}, handlers.JobJSON, log)

	draining := make(chan struct{})
	h := handlers.New(handlers.Config{
		UploadDir:      filepath.Join(cfg.DataDir, "uploads"),
		MaxUploadBytes: cfg.MaxUploadBytes,
		SecureCookies:  cfg.secureCookies(),
		SessionKeys:    sessionKeys,
		MinFreeBytes:   cfg.MinFreeBytes,
		EngineName:     engineName,
		Limits:         cfg.limits(),
		Signup:         cfg.Signup,
		PublicURL:      cfg.PublicURL,
		MetricsToken:   cfg.MetricsToken,

		WebhookAllowPrivate: cfg.WebhookAllowPrivate,
	}, handlers.Deps{Store: db, Relay: rel, Client: client, Metrics: m, Log: log, Shutdown: draining})

	// Workers stop after HTTP has drained, so no handler meets a stopped worker.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	for _, w := range []func(context.Context) error{rel.Run, sub.Run, poller.Run, hooks.Run} {
		workers.Go(func() {
			if err := w(workCtx); err != nil {
				log.Error("worker stopped", "error", err)
			}
		})
	}
	defer func() {
		stopWork()
		workers.Wait()
	}()

	errorLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	srv := &http.Server{Handler: h.Routes(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: errorLog}
	// Each server's Serve reports here once; shutdown collects both.
	serveErr := make(chan error, 2)
	servers := []*http.Server{srv}
	if metricsLn != nil {
		msrv := &http.Server{Handler: h.MetricsRoutes(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: errorLog}
		servers = append(servers, msrv)
		go func() { serveErr <- msrv.Serve(metricsLn) }()
		fmt.Fprintf(stdout, "scribe: metrics on http://%s/metrics\n", metricsLn.Addr())
	}
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "scribe: listening on %s (upstream %s)\n", cfg.PublicURL, upstreamURL)

	pending := len(servers) // Serve calls yet to return
	var failed error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		pending--
		failed = fmt.Errorf("http server: %w", err)
	}
	log.Info("shutting down")
	close(draining) // ends event streams, which Shutdown would otherwise wait for
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	// The metrics listener goes last, so scrapes see the drain.
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil {
			failed = cmp.Or(failed, fmt.Errorf("http shutdown: %w", err))
		}
	}
	for range pending {
		if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
			failed = cmp.Or(failed, err)
		}
	}
	h.Wait() // event streams that left their handlers end on draining too
	return failed
}

// startEmbeddedEngine runs the DeepScript-compatible engine on a loopback
// port with a fresh API key; the app reaches it over real HTTP.
func startEmbeddedEngine(ctx context.Context, cfg Config, getenv func(string) string, log *slog.Logger) (*engine.Server, string, error) {
	ecfg, err := engine.LoadConfig(nil, getenv, io.Discard)
	if err != nil {
		return nil, "", err
	}
	ecfg.Addr = "127.0.0.1:0"
	if getenv("SCRIBE_ENGINE_DATA_DIR") == "" {
		ecfg.DataDir = filepath.Join(cfg.DataDir, "engine")
	}
	if getenv("SCRIBE_ENGINE_MAX_UPLOAD_BYTES") == "" {
		ecfg.MaxUploadBytes = cfg.MaxUploadBytes
	}
	ecfg.APIKey = random.Hex(24)
	srv, err := engine.Start(ctx, ecfg, log)
	return srv, ecfg.APIKey, err
}

// loadOrCreateKeys reads the session hash and block keys, creating them on
// first start so sessions survive restarts.
func loadOrCreateKeys(path string) ([][]byte, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		raw = []byte(random.Hex(64) + "\n" + random.Hex(32) + "\n")
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			return nil, fmt.Errorf("unable to save session keys: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("unable to read session keys: %w", err)
	}
	var keys [][]byte
	for _, line := range splitLines(string(raw)) {
		k, err := hex.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("session keys in %s are corrupt: %w", path, err)
		}
		keys = append(keys, k)
	}
	if len(keys) < 2 || len(keys)%2 != 0 {
		return nil, fmt.Errorf("session keys in %s: want hash/block pairs, got %d keys", path, len(keys))
	}
	return keys, nil
}

func splitLines(s string) []string {
	var out []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}
