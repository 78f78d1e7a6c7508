// Package storetest makes the store fixtures tests share: a fresh
// database, a user, and jobs waiting for or past their submission.
package storetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"scribe/job"
	"scribe/pgtest"
	"scribe/sqldb"
	"scribe/store"
)

// Password is the password of every user made by User.
const Password = "correct horse battery"

// Open opens a fresh SQLite store in a temporary directory; it is closed
// when the test ends.
func Open(t testing.TB) *store.Store {
	t.Helper()
	return OpenOn(t, sqldb.SQLite)
}

// OpenOn opens a fresh store on database d: SQLite in a temporary
// directory, or a new database on the test binary's PostgreSQL (pgtest,
// whose TestMain the calling package needs). It is closed when the test
// ends.
func OpenOn(t testing.TB, d sqldb.Dialect) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), OptionsOn(t, d))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// OptionsOn names a fresh, empty database on d for store.Open, as OpenOn
// does, for a test that opens it more than once.
func OptionsOn(t testing.TB, d sqldb.Dialect) store.Options {
	t.Helper()
	o := store.Options{Path: filepath.Join(t.TempDir(), "scribe.db")}
	if d == sqldb.Postgres {
		o.URL = pgtest.URL(t)
	}
	return o
}

// Dialects are the databases the store runs on, in the order Each tries them.
var Dialects = []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres}

// Each runs test once per database, as parallel subtests named after it,
// each with a fresh store: most of a PostgreSQL subtest's time is the
// server making and migrating its database, which overlaps others' work.
func Each(t *testing.T, test func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			test(t, OpenOn(t, d))
		})
	}
}

// User creates an account for email with Password. Its hash has bcrypt's
// least cost, so logging in as it is quick.
func User(t testing.TB, s *store.Store, email string) store.User {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(Password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(context.Background(), email, hash)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// QueuedJob creates a job of u's, named id, waiting to be submitted, with
// a few bytes of audio in a temporary file.
func QueuedJob(t testing.TB, s *store.Store, u store.User, id string) job.Job {
	t.Helper()
	audio := []byte("RIFF pretend audio of " + id)
	path := filepath.Join(t.TempDir(), id+".audio")
	if err := os.WriteFile(path, audio, 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := s.CreateJob(context.Background(), job.Job{ID: id, UserID: u.ID, Filename: id + ".wav", AudioPath: path,
		SizeBytes: int64(len(audio)), Duration: 1})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// SubmittedJob creates a job of u's, named id, that the upstream knows as
// upstreamID.
func SubmittedJob(t testing.TB, s *store.Store, u store.User, id, upstreamID string) job.Job {
	t.Helper()
	j, err := s.MarkSubmitted(context.Background(), QueuedJob(t, s, u, id).ID, upstreamID)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
