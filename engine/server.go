// Package engine is the embedded DeepScript server: the DeepScript v1
// contract (docs/deepscript-api.md) served over HTTP from the scribe
// binary, transcribing offline with a speech.Recognizer. Its state (jobs,
// SSE history, webhook outbox, idempotency keys, balance) lives in its own
// SQLite file so queued work and undelivered webhooks survive a restart,
// or in PostgreSQL shared by several engine nodes, which take jobs from
// one queue under renewed leases and pass changes to each other's SSE
// streams with LISTEN/NOTIFY. README.md records the choices the contract
// leaves open and how the nodes share the work.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"scribe/dirlock"
	"scribe/engine/speech"
	"scribe/random"
)

// Server is a running engine: HTTP listener, workers and webhook deliverer.
type Server struct {
	cfg        Config
	log        *slog.Logger
	store      *store
	lock       *dirlock.Lock // the data directory, held until Shutdown
	hub        *hub
	recognizer speech.Recognizer
	ownsRec    bool
	listener   net.Listener
	http       *http.Server
	handler    http.Handler

	stop     context.CancelFunc // ends the background goroutines
	bg       sync.WaitGroup
	shutOnce sync.Once
	shutErr  error
}

// Start opens the store in cfg.DataDir, the recognizer (unless cfg has
// one), starts the workers and the webhook deliverer, and listens on
// cfg.Addr. It returns once the listener is open. ctx bounds the start
// only; stop the server with Shutdown.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "engine")
	s := &Server{cfg: cfg, log: logger, hub: newHub()}
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]() //nolint:errcheck // already failing
			}
		}
	}()

	audioDir := cfg.AudioDir()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("engine: unable to create data dir: %w", err)
	}
	if err := os.MkdirAll(audioDir, 0o700); err != nil {
		return nil, fmt.Errorf("engine: unable to create audio dir: %w", err)
	}
	// Before anything else: a second engine on this directory would reset
	// the running one's job claims.
	if s.lock, err = dirlock.Acquire(cfg.DataDir); err != nil {
		return nil, err
	}
	closers = append(closers, s.lock.Release)
	owner, err := nodeID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if s.store, err = openStore(ctx, cfg.DatabaseURL, filepath.Join(cfg.DataDir, "engine.db"), cfg.Now); err != nil {
		return nil, err
	}
	closers = append(closers, s.store.Close)
	s.store.grantSeconds, s.store.lowSeconds = cfg.BalanceSeconds, cfg.BalanceLowSeconds
	s.store.maxQueued = cfg.MaxQueued
	s.store.owner, s.store.lease = owner, cfg.Lease
	// Jobs a previous run of this node was running start again from the
	// beginning.
	if err := s.store.ReleaseOwned(ctx); err != nil {
		return nil, err
	}
	if err := s.sweepAudio(ctx, audioDir); err != nil {
		return nil, err
	}

	if s.recognizer = cfg.Recognizer; s.recognizer == nil {
		if s.recognizer, err = openRecognizer(cfg); err != nil {
			return nil, err
		}
		s.ownsRec = true
		closers = append(closers, s.recognizer.Close)
	}

	if s.listener, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("engine: unable to listen on %s: %w", cfg.Addr, err)
	}
	closers = append(closers, s.listener.Close)

	outbox := newDeliverer(s.store, cfg.WebhookRetry, cfg.WebhookTimeout, logger)
	workers := newWorkerPool(s.store, s.hub, s.recognizer, outbox, audioDir, cfg.Workers, logger)
	a := &api{cfg: cfg, log: logger, store: s.store, hub: s.hub, audioDir: audioDir, workers: workers, outbox: outbox}
	s.handler = a.routes()
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		// No WriteTimeout: it would cut SSE streams; they set per-write
		// deadlines instead.
	}

	bgCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.bg.Go(func() { workers.Run(bgCtx) }) //nolint:errcheck // returns nil
	s.bg.Go(func() { outbox.Run(bgCtx) })  //nolint:errcheck // returns nil
	s.bg.Go(func() { runJanitor(bgCtx, s.store, logger) })
	if cfg.DatabaseURL != "" {
		s.bg.Go(func() { runListener(bgCtx, cfg.DatabaseURL, s.store, s.hub, workers, logger) })
	}
	s.bg.Go(func() {
		if err := s.http.Serve(s.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("http server stopped", "error", err)
		}
	})
	logger.Info("engine listening", "addr", s.listener.Addr().String(), "workers", cfg.Workers,
		"node", owner, "database", string(s.store.dialect), "audio_dir", audioDir)
	return s, nil
}

// openRecognizer creates the recognizer cfg.RecognizerKind names.
func openRecognizer(cfg Config) (speech.Recognizer, error) {
	switch cfg.RecognizerKind {
	case RecognizerPocketsphinx:
		r, err := speech.NewPocketsphinx(speech.PocketsphinxOptions{Workers: cfg.Workers})
		if err != nil {
			return nil, fmt.Errorf("engine: unable to start pocketsphinx: %w", err)
		}
		return r, nil
	case RecognizerHTTP:
		r, err := speech.NewHTTP(speech.HTTPOptions{URL: cfg.RecognizerURL, APIKey: cfg.RecognizerKey, Model: cfg.RecognizerModel})
		if err != nil {
			return nil, fmt.Errorf("engine: unable to set up the http recognizer: %w", err)
		}
		return r, nil
	}
	return nil, fmt.Errorf("engine: unknown recognizer %q", cfg.RecognizerKind)
}

// sharedSweepAge is how long an unknown audio file in shared storage must
// have been left alone before a starting node removes it: younger, it may
// be an upload another node is receiving.
const sharedSweepAge = time.Hour

// sweepAudio removes audio files no job refers to: uploads cut short by a
// crash.
func (s *Server) sweepAudio(ctx context.Context, dir string) error {
	stored, err := s.store.AudioPaths(ctx)
	if err != nil {
		return err
	}
	known := make(map[string]bool, len(stored))
	for p := range stored {
		known[audioFile(dir, p)] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("engine: unable to list audio: %w", err)
	}
	for _, e := range entries {
		if s.cfg.DatabaseURL != "" {
			if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < sharedSweepAge {
				continue
			}
		}
		if p := filepath.Join(dir, e.Name()); !known[p] {
			s.log.Info("removing orphaned audio", "path", p)
			os.Remove(p)
		}
	}
	return nil
}

// audioFile is the path of a job's stored audio_path: relative to the
// storage directory, so it is valid on every node whatever the mount
// point, or absolute in rows written before that.
func audioFile(dir, stored string) string {
	if filepath.IsAbs(stored) {
		return stored
	}
	return filepath.Join(dir, stored)
}

// nodeID names this node in job leases. It is kept in the data directory,
// so a restarted node knows the leases of its previous run (ReleaseOwned);
// the directory lock makes it one process's at a time.
func nodeID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "node-id")
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return string(b), nil
	}
	host, _ := os.Hostname()
	id := random.ID(host + "-")
	if err := os.WriteFile(path, []byte(id), 0o600); err != nil {
		return "", fmt.Errorf("engine: unable to save the node id: %w", err)
	}
	return id, nil
}

// URL is the base URL clients use, e.g. "http://127.0.0.1:8081".
func (s *Server) URL() string { return "http://" + s.listener.Addr().String() }

// Handler is the HTTP handler, for tests that drive it without a network.
func (s *Server) Handler() http.Handler { return s.handler }

// Shutdown stops accepting requests, ends SSE streams, waits for running
// requests (until ctx ends), hands running jobs back to the queue, stops
// the deliverer and closes the recognizer (if Start opened it) and the
// store. It is safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutOnce.Do(func() {
		s.hub.Close() // SSE handlers return, so the HTTP server can drain
		var errs []error
		if err := s.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("engine: http shutdown: %w", err))
			s.http.Close()
		}
		s.stop()
		s.bg.Wait()
		if s.ownsRec {
			if err := s.recognizer.Close(); err != nil {
				errs = append(errs, fmt.Errorf("engine: closing recognizer: %w", err))
			}
		}
		if err := s.store.Close(); err != nil {
			errs = append(errs, err)
		}
		if err := s.lock.Release(); err != nil {
			errs = append(errs, err)
		}
		s.shutErr = errors.Join(errs...)
		s.log.Info("engine stopped")
	})
	return s.shutErr
}
