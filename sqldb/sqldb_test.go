package sqldb

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"scribe/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestDialectOf(t *testing.T) {
	for in, want := range map[string]Dialect{"": SQLite, "postgres://u@h/db": Postgres, "postgresql:///db?host=/run": Postgres} {
		if got, err := DialectOf(in); err != nil || got != want {
			t.Errorf("DialectOf(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"mysql://h/db", "file:///x.db", "://"} {
		if _, err := DialectOf(bad); err == nil {
			t.Errorf("DialectOf(%q) accepted", bad)
		}
	}
}

// TestOneStatementBothDatabases runs the same statements, placeholders and
// a unique violation included, on a real SQLite file and a real PostgreSQL.
func TestOneStatementBothDatabases(t *testing.T) {
	ctx := context.Background()
	lite, err := sql.Open("sqlite3", filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := OpenPostgres(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	for _, db := range []DB{{lite, SQLite}, {pg, Postgres}} {
		t.Run(string(db.Dialect), func(t *testing.T) {
			if _, err := db.ExecContext(ctx, "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
				t.Fatal(err)
			}
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (?, ?), (?, '?')", "a", "1", "b"); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			var v string
			if err := db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", "b").Scan(&v); err != nil || v != "?" {
				t.Fatalf("read %q, %v; want the literal ?", v, err)
			}
			var n int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM kv WHERE k = ?2 OR v = ?1 OR k = ?2", "1", "b").Scan(&n); err != nil || n != 2 {
				t.Fatalf("numbered placeholders: %d rows, %v; want 2", n, err)
			}
			_, err = db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (?, ?)", "a", "2")
			if !IsUniqueViolation(err) {
				t.Fatalf("inserting a key twice: %v, not a unique violation", err)
			}
		})
	}
}

// TestPostgresTimesInUTC: a time read back from PostgreSQL is in UTC, as
// from SQLite, whatever the process's local zone.
func TestPostgresTimesInUTC(t *testing.T) {
	ctx := context.Background()
	// A local zone that is not UTC, as on a server set to its own; the
	// test runs alone, not in parallel.
	defer func(local *time.Location) { time.Local = local }(time.Local)
	time.Local = time.FixedZone("UTC-3", -3*3600)
	pg, err := OpenPostgres(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.FixedZone("UTC+5", 5*3600))
	var got time.Time
	if err := pg.QueryRowContext(ctx, "SELECT $1::timestamptz", at).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if !got.Equal(at) || got.Location() != time.UTC {
		t.Fatalf("read %v, want %v in UTC", got, at.UTC())
	}
}

// TestMigrateTogether: four processes' worth of pools migrating one
// PostgreSQL database at once all succeed, and the schema is made once.
func TestMigrateTogether(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	fsys := fstest.MapFS{
		"0001_a.sql": {Data: []byte("-- +goose Up\nCREATE TABLE a (n int);\nCREATE TYPE mood AS ENUM ('ok');\n")},
		"0002_b.sql": {Data: []byte("-- +goose Up\nINSERT INTO a VALUES (1);\n")},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			db, err := OpenPostgres(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			errs <- Migrate(ctx, db, Postgres, fsys)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	db, err := OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM a").Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows, %v; want the second migration run once", n, err)
	}
}
