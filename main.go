// Command scribe is a web app for transcribing audio through a DeepScript
// API upstream; with no upstream configured it runs its own offline engine.
//
//	scribe [serve] [flags]       the web app (default)
//	scribe engine [flags]        the DeepScript-compatible engine on its own
//	scribe backup [flags] FILE   a consistent copy of the database, app running or not
//	scribe client COMMAND ...    upload, list, get and delete jobs with an API token
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"scribe/client"
	"scribe/settings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	var usage *settings.UsageError
	var clientErr *client.ExitError
	switch {
	case errors.As(err, &clientErr):
		fmt.Fprintln(os.Stderr, "scribe client:", err)
		os.Exit(clientErr.ExitCode()) // the documented codes scripts rely on
	case errors.As(err, &usage):
		fmt.Fprintf(os.Stderr, "scribe: %v\nRun '%s -h' for usage.\n", err, usage.Command)
		os.Exit(2) // as the flag package does for a bad command line
	case err != nil:
		fmt.Fprintln(os.Stderr, "scribe:", err)
		os.Exit(1)
	}
}
