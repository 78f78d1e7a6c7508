package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"scribe/store"
)

// TestBackupWhileWriting backs a store up while another goroutine keeps
// adding users, then opens the copy: it must pass SQLite's integrity check
// and hold the users written before the backup began. SQLite only, as is
// Backup: PostgreSQL is backed up with its own tools (pg_dump).
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "scribe.db")
	s, err := store.Open(ctx, store.Options{Path: src})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 200 {
		if _, err := s.CreateUser(ctx, fmt.Sprintf("before%d@example.com", i), []byte("h")); err != nil {
			t.Fatal(err)
		}
	}

	var written atomic.Int64
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			if _, err := s.CreateUser(ctx, fmt.Sprintf("during%d@example.com", i), []byte("h")); err != nil {
				writerDone <- err
				return
			}
			written.Add(1)
		}
	}()
	// Let the writer get going, so the backup meets writes in flight.
	for written.Load() < 20 {
		select {
		case err := <-writerDone:
			t.Fatalf("writer stopped early: %v", err)
		default:
		}
	}
	dst := filepath.Join(dir, "copy.db")
	stats, err := store.Backup(ctx, src, dst)
	during := written.Load()
	close(stop)
	if err := <-writerDone; err != nil {
		t.Fatalf("writes during the backup: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if stats.Pages <= 0 || stats.Bytes <= 0 {
		t.Fatalf("stats %+v, want pages and bytes", stats)
	}
	if fi, err := os.Stat(dst); err != nil || fi.Size() != stats.Bytes {
		t.Fatalf("copy: %v, size %d; stats say %d bytes", err, fi.Size(), stats.Bytes)
	}

	copyDB, err := sql.Open("sqlite3", "file:"+dst+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	var check string
	if err := copyDB.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	var before, inCopy int64
	if err := copyDB.QueryRow("SELECT count(*) FILTER (WHERE email LIKE 'before%'), count(*) FROM users").Scan(&before, &inCopy); err != nil {
		t.Fatal(err)
	}
	if before != 200 {
		t.Errorf("copy holds %d of the 200 users written before the backup", before)
	}
	if max := 200 + during + 1; inCopy < 200 || inCopy > max {
		t.Errorf("copy holds %d users, want 200 to %d", inCopy, max)
	}
	t.Logf("copied %d pages, %d bytes in %v; %d of %d users written during it are in the copy",
		stats.Pages, stats.Bytes, stats.Duration, inCopy-200, during)
}

func TestBackupRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "scribe.db")
	s, err := store.Open(ctx, store.Options{Path: src})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	t.Run("ExistingFile", func(t *testing.T) {
		dst := filepath.Join(dir, "exists.db")
		if err := os.WriteFile(dst, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Backup(ctx, src, dst); err == nil || !strings.Contains(err.Error(), "file exists") {
			t.Fatalf("err = %v, want a refusal", err)
		}
		if b, _ := os.ReadFile(dst); string(b) != "keep me" {
			t.Fatalf("the existing file now holds %q", b)
		}
	})
	t.Run("MissingSource", func(t *testing.T) {
		dst := filepath.Join(dir, "none.db")
		if _, err := store.Backup(ctx, filepath.Join(dir, "nope.db"), dst); err == nil {
			t.Fatal("backed up a database that does not exist")
		}
		if _, err := os.Stat(filepath.Join(dir, "nope.db")); !os.IsNotExist(err) {
			t.Errorf("the missing source was created: %v", err)
		}
		if _, err := os.Stat(dst); !os.IsNotExist(err) {
			t.Errorf("a failed backup left %s behind: %v", dst, err)
		}
	})
}
