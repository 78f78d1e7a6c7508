package engine

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// shutdownTimeout bounds how long Main waits for requests to drain.
const shutdownTimeout = 30 * time.Second

// Main runs the engine standalone (the `scribe engine` subcommand): config
// from getenv and args, serve until ctx ends, then shut down.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("engine", flag.ContinueOnError)
	fs.SetOutput(stdout)
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("engine: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))
	srv, err := Start(ctx, cfg, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "engine: serving the DeepScript API at %s\n", srv.URL())
	<-ctx.Done()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	return srv.Shutdown(shutCtx)
}
