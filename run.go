package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"scribe/backstop"
	"scribe/deepscript"
	"scribe/engine"
	"scribe/handlers"
	"scribe/metrics"
	"scribe/relay"
	"scribe/store"
	"scribe/submit"
)

// drainTimeout bounds how long shutdown waits for requests in flight.
const drainTimeout = 20 * time.Second

// run is the whole program: it parses args, opens every component, serves
// until ctx ends, then closes them in reverse order. Tests call it too; it
// writes "scribe: listening on URL" to stdout once it accepts requests.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "engine" {
		return engine.Main(ctx, args[1:], getenv, stdout)
	}
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
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
	db, err := store.Open(ctx, filepath.Join(cfg.DataDir, "scribe.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	sessionKeys, err := loadOrCreateKeys(filepath.Join(cfg.DataDir, "session.keys"))
	if err != nil {
		return err
	}

	upstreamURL, apiKey := cfg.DeepScriptURL, cfg.DeepScriptAPIKey
	if upstreamURL == "" {
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
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}

	m := metrics.New()
	client := deepscript.New(upstreamURL, apiKey, nil)
	client.Logger = log
	rel := relay.New(db, client, m, log)
	sub := submit.New(db, client, rel, m, log, cfg.webhookURL())
	poller := backstop.New(db, client, rel, m, log, cfg.PollInterval, cfg.StaleAfter)

	draining := make(chan struct{})
	h := handlers.New(handlers.Config{
		UploadDir:      filepath.Join(cfg.DataDir, "uploads"),
		MaxUploadBytes: cfg.MaxUploadBytes,
		SecureCookies:  cfg.secureCookies(),
		SessionKeys:    sessionKeys,
		Signup:         cfg.Signup,
		PublicURL:      cfg.PublicURL,
	}, handlers.Deps{Store: db, Relay: rel, Client: client, Metrics: m, Log: log, Shutdown: draining})

	// Workers stop after HTTP has drained, so no handler meets a stopped worker.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	for _, w := range []func(context.Context) error{rel.Run, sub.Run, poller.Run} {
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

	srv := &http.Server{Handler: h.Routes(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "scribe: listening on %s (upstream %s)\n", cfg.PublicURL, upstreamURL)

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("http server: %w", err)
	}
	log.Info("shutting down")
	close(draining) // ends event streams, which Shutdown would otherwise wait for
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startEmbeddedEngine runs the DeepScript-compatible engine on a loopback
// port with a fresh API key; the app reaches it over real HTTP.
func startEmbeddedEngine(ctx context.Context, cfg Config, getenv func(string) string, log *slog.Logger) (*engine.Server, string, error) {
	ecfg, err := engine.ConfigFromEnv(getenv)
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
	if ecfg.APIKey, err = randomHex(24); err != nil {
		return nil, "", err
	}
	srv, err := engine.Start(ctx, ecfg, log)
	return srv, ecfg.APIKey, err
}

// loadOrCreateKeys reads the session hash and block keys, creating them on
// first start so sessions survive restarts.
func loadOrCreateKeys(path string) ([][]byte, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		hashKey, err1 := randomHex(64)
		blockKey, err2 := randomHex(32)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		raw = []byte(hashKey + "\n" + blockKey + "\n")
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

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
