package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scribe/deepscript/deepscripttest"
	"scribe/settings"
)

// TestBackupCommand runs scribe backup against a running app, which holds
// its data directory's lock, and checks the copy holds the app's account.
func TestBackupCommand(t *testing.T) {
	app := startApp(t, fakeEnv(deepscripttest.NewServer(t)))
	newUser(t, app, "kept@example.com")
	dst := filepath.Join(t.TempDir(), "scribe-backup.db")
	env := envOf(map[string]string{"SCRIBE_DATA_DIR": app.DataDir})

	var out strings.Builder
	if err := run(context.Background(), []string{"backup", dst}, env, &out); err != nil {
		t.Fatalf("backup while the app runs: %v", err)
	}
	if got, want := out.String(), "scribe: backed up "+filepath.Join(app.DataDir, "scribe.db")+" to "+dst+": "; !strings.HasPrefix(got, want) || !strings.Contains(got, " pages, ") {
		t.Fatalf("output %q, want it to start %q and count pages", got, want)
	}
	db, err := sql.Open("sqlite3", "file:"+dst+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM users WHERE email = 'kept@example.com'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the copy has %d of the account (%v), want 1", n, err)
	}

	t.Run("ExistingFile", func(t *testing.T) {
		before, _ := os.ReadFile(dst)
		err := run(context.Background(), []string{"backup", "-data-dir", app.DataDir, dst}, envOf(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "file exists") {
			t.Fatalf("err = %v, want a refusal to overwrite", err)
		}
		if after, _ := os.ReadFile(dst); string(after) != string(before) {
			t.Fatal("the existing backup was changed")
		}
	})
	t.Run("Help", func(t *testing.T) {
		var out strings.Builder
		if err := run(context.Background(), []string{"backup", "-h"}, env, &out); err != nil {
			t.Fatalf("backup -h: %v, want nil after the usage", err)
		}
		if got, want := out.String(), "Usage: scribe backup [flags] FILE\n"; !strings.HasPrefix(got, want) || !strings.Contains(got, "(SCRIBE_DATA_DIR, default ./data)") {
			t.Fatalf("usage %q, want it to start %q and name SCRIBE_DATA_DIR", got, want)
		}
	})
	t.Run("Postgres", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "pg-backup.db")
		err := run(context.Background(), []string{"backup", "-database-url", "postgres://scribe@db.invalid/scribe", target}, env, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "pg_dump") {
			t.Fatalf("err = %v, want a pointer to pg_dump", err)
		}
		if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a file was made: %v", err)
		}
	})
	t.Run("NoFile", func(t *testing.T) {
		err := run(context.Background(), []string{"backup"}, env, io.Discard)
		var usage *settings.UsageError
		if !errors.As(err, &usage) || err.Error() != "missing FILE" {
			t.Fatalf("err = %v, want the usage error %q", err, "missing FILE")
		}
	})
}
