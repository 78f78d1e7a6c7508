package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"scribe/settings"
	"scribe/store"
)

// backup is "scribe backup [flags] FILE": it copies the database of the
// data directory to FILE, which must not exist, while the app may be
// running. It takes no data directory lock, as it only reads.
func backup(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var dataDir, databaseURL string
	table := settings.New("scribe backup", dataDirSetting(&dataDir), databaseURLSetting(&databaseURL))
	table.Operands = []string{"FILE"}
	err := table.Parse(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h printed the usage
	}
	if err != nil {
		return err
	}
	if err := checkDatabaseURL(databaseURL); err != nil {
		return err
	}
	if databaseURL != "" {
		return errors.New("scribe backup copies the SQLite database in the data directory; " +
			"with SCRIBE_DATABASE_URL set, back PostgreSQL up with its own tools (pg_dump)")
	}
	src, dst := filepath.Join(dataDir, "scribe.db"), table.Args()[0]
	stats, err := store.Backup(ctx, src, dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "scribe: backed up %s to %s: %d pages, %d bytes in %s\n",
		src, dst, stats.Pages, stats.Bytes, stats.Duration.Round(time.Millisecond))
	return nil
}
