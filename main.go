// Command scribe is a web app for transcribing audio through a DeepScript
// API upstream; with no upstream configured it runs its own offline engine.
//
//	scribe [serve] [flags]   the web app (default)
//	scribe engine [flags]    the DeepScript-compatible engine on its own
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "scribe:", err)
		os.Exit(1)
	}
}
