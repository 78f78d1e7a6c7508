// Package pgtest hands each test a fresh database on a throwaway
// PostgreSQL (pglocal), started once per test binary, on first use, in a
// temporary directory, with durability off for speed.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"scribe/pglocal"
)

var (
	once    sync.Once
	server  *pglocal.Server
	dir     string
	started error
	dbs     atomic.Int64
)

// Main runs the tests and then stops the server, if one was started, and
// removes its directory: call it from TestMain as os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if server != nil {
		server.Stop()
		os.RemoveAll(dir)
	}
	return code
}

// URL creates a fresh, empty database and returns its postgres:// URL.
// The test fails when PostgreSQL cannot be started: it is a required part
// of the test suite (make test installs it).
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if dir, started = os.MkdirTemp("", "pgtest-"); started == nil {
			if server, started = pglocal.Start(dir, pglocal.Options{Fast: true}); started != nil {
				os.RemoveAll(dir)
			}
		}
	})
	if started != nil {
		t.Fatalf("pgtest: %v", started)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := server.CreateDatabase(ctx, fmt.Sprintf("t%d_%d", os.Getpid(), dbs.Add(1)))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}
