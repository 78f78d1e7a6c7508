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
	cfg, err := LoadConfig(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h printed the usage; that is not a failure
	}
	if err != nil {
		return err
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
