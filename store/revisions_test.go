package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"scribe/job"
	"scribe/migrations"
	"scribe/store"
	"scribe/store/storetest"
)

var upstreamResult = &job.Result{Text: "hello world", Language: "en", Duration: 2, Segments: []job.Segment{
	{Start: 0, End: 2, Text: "hello world", Words: []job.Word{{Word: "hello", Start: 0, End: 0.9}, {Word: "world", Start: 1, End: 2}}},
}}

// completedJob is a user's job completed with upstreamResult.
func completedJob(t *testing.T, s *store.Store, email, upstreamID string) job.Job {
	t.Helper()
	storetest.SubmittedJob(t, s, storetest.User(t, s, email), "job-"+upstreamID, upstreamID)
	j, changed, err := s.ApplyUpdate(context.Background(), job.Update{UpstreamID: upstreamID, Status: job.StatusCompleted,
		Result: upstreamResult, Via: job.ViaWebhook})
	if err != nil || !changed {
		t.Fatalf("complete: changed=%v, %v", changed, err)
	}
	return j
}

func sources(t *testing.T, s *store.Store, jobID string) []job.Source {
	t.Helper()
	revs, err := s.Revisions(context.Background(), jobID)
	if err != nil {
		t.Fatal(err)
	}
	var out []job.Source
	for _, r := range revs {
		out = append(out, r.Source)
	}
	return out
}

func TestRevisions(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		j := completedJob(t, s, "a@example.com", "tr_1")
		first, err := s.CurrentRevision(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if first.ID != j.RevisionID || first.Source != job.SourceUpstream || first.AuthorID != 0 || !reflect.DeepEqual(first.Result, upstreamResult) {
			t.Fatalf("first revision %+v of job at revision %d", first, j.RevisionID)
		}
		edited := &job.Result{Text: "hello there", Duration: 2, Segments: []job.Segment{{Start: 0, End: 2, Text: "hello there"}}}

		t.Run("Save", func(t *testing.T) {
			saved, rev, err := s.SaveRevision(ctx, j.UserID, j.ID, first.ID, edited)
			if err != nil {
				t.Fatal(err)
			}
			if rev.Source != job.SourceEdit || rev.AuthorID != j.UserID || saved.RevisionID != rev.ID || saved.Seq <= j.Seq {
				t.Fatalf("saved revision %+v, job at revision %d seq %d (was %d)", rev, saved.RevisionID, saved.Seq, j.Seq)
			}
			if !saved.UpdatedAt.Equal(j.UpdatedAt) {
				t.Fatalf("an edit moved updated_at from %v to %v", j.UpdatedAt, saved.UpdatedAt)
			}
			got, err := s.Result(ctx, j.ID)
			if err != nil || got.Text != "hello there" {
				t.Fatalf("current result %+v, %v", got, err)
			}
		})
		t.Run("Stale", func(t *testing.T) {
			before, _ := s.CurrentRevision(ctx, j.ID)
			_, _, err := s.SaveRevision(ctx, j.UserID, j.ID, first.ID, &job.Result{Segments: []job.Segment{}})
			if !errors.Is(err, job.ErrStale) {
				t.Fatalf("save on a stale revision: %v, want ErrStale", err)
			}
			after, _ := s.CurrentRevision(ctx, j.ID)
			if after.ID != before.ID || len(sources(t, s, j.ID)) != 2 {
				t.Fatalf("a stale save changed something: current %d→%d, %d revisions", before.ID, after.ID, len(sources(t, s, j.ID)))
			}
		})
		t.Run("Restore", func(t *testing.T) {
			_, rev, err := s.RestoreRevision(ctx, j.UserID, j.ID, first.ID)
			if err != nil {
				t.Fatal(err)
			}
			cur, err := s.CurrentRevision(ctx, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if cur.ID != rev.ID || cur.Source != job.SourceRestore || cur.RestoredFrom != first.ID || !reflect.DeepEqual(cur.Result, upstreamResult) {
				t.Fatalf("current after restore: %+v", cur)
			}
			if got, want := sources(t, s, j.ID), []job.Source{job.SourceRestore, job.SourceEdit, job.SourceUpstream}; !reflect.DeepEqual(got, want) {
				t.Fatalf("revisions newest first: %v, want %v", got, want)
			}
		})
		t.Run("OtherUser", func(t *testing.T) {
			other, err := s.CreateUser(ctx, "b@example.com", []byte("h"))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.SaveRevision(ctx, other.ID, j.ID, j.RevisionID, edited); !errors.Is(err, job.ErrNotFound) {
				t.Errorf("other user's save: %v", err)
			}
			if _, _, err := s.RestoreRevision(ctx, other.ID, j.ID, first.ID); !errors.Is(err, job.ErrNotFound) {
				t.Errorf("other user's restore: %v", err)
			}
		})
		t.Run("OtherJobsRevision", func(t *testing.T) {
			k := completedJob(t, s, "c@example.com", "tr_2")
			if _, _, err := s.RestoreRevision(ctx, j.UserID, j.ID, k.RevisionID); !errors.Is(err, job.ErrNotFound) {
				t.Fatalf("restoring another job's revision: %v", err)
			}
		})
		t.Run("NotCompleted", func(t *testing.T) {
			q := storetest.SubmittedJob(t, s, storetest.User(t, s, "d@example.com"), "job-tr_3", "tr_3")
			if _, _, err := s.SaveRevision(ctx, q.UserID, q.ID, 0, edited); job.ErrorCode(err) != job.CodeConflict || errors.Is(err, job.ErrStale) {
				t.Fatalf("saving a running job's transcript: %v", err)
			}
			if _, err := s.CurrentRevision(ctx, q.ID); !errors.Is(err, job.ErrNotFound) {
				t.Fatalf("running job's current revision: %v", err)
			}
		})
		t.Run("DeletedWithJob", func(t *testing.T) {
			if _, err := s.DeleteJob(ctx, j.UserID, j.ID); err != nil {
				t.Fatal(err)
			}
			if got := sources(t, s, j.ID); len(got) != 0 {
				t.Fatalf("revisions left after deleting the job: %v", got)
			}
		})
	})
}

// TestLateUpstreamResult: news of a completed job never changes what its
// owner reads; a result that differs from the upstream's first is kept as
// a revision they may restore.
func TestLateUpstreamResult(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		j := completedJob(t, s, "a@example.com", "tr_1")
		late := func(r *job.Result) {
			t.Helper()
			before, err := s.Job(ctx, j.UserID, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			got, changed, err := s.ApplyUpdate(ctx, job.Update{UpstreamID: "tr_1", Status: job.StatusCompleted, Result: r, Via: job.ViaPoll})
			if err != nil || changed || got.Seq != before.Seq || got.RevisionID != before.RevisionID {
				t.Fatalf("late result: changed=%v seq %d→%d revision %d→%d, %v", changed, before.Seq, got.Seq, before.RevisionID, got.RevisionID, err)
			}
		}
		late(upstreamResult)
		if got := sources(t, s, j.ID); len(got) != 1 {
			t.Fatalf("the same result again added a revision: %v", got)
		}
		if _, _, err := s.SaveRevision(ctx, j.UserID, j.ID, j.RevisionID, &job.Result{Text: "mine", Segments: []job.Segment{{End: 1, Text: "mine"}}}); err != nil {
			t.Fatal(err)
		}
		other := &job.Result{Text: "hullo world", Duration: 2, Segments: []job.Segment{{Start: 0, End: 2, Text: "hullo world"}}}
		late(other)
		late(other)
		if got, want := sources(t, s, j.ID), []job.Source{job.SourceUpstream, job.SourceEdit, job.SourceUpstream}; !reflect.DeepEqual(got, want) {
			t.Fatalf("revisions %v, want %v", got, want)
		}
		if cur, err := s.Result(ctx, j.ID); err != nil || cur.Text != "mine" {
			t.Fatalf("current transcript %+v, %v; want the edit", cur, err)
		}
	})
}

// TestMigrateRevisions builds a database at the schema before revisions,
// with a completed and a running job, and opens it: the transcript becomes
// the completed job's one upstream revision and the old column is gone.
// Migrating down puts the current revision back in the column.
//
// SQLite only: the migration is SQLite's history; PostgreSQL starts from
// its end state.
func TestMigrateRevisions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "scribe.db")
	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	finished := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	_, err = db.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, created_at) VALUES (1, 'a@example.com', x'00', ?);
		INSERT INTO jobs (id, user_id, filename, audio_path, size_bytes, status, result_json, seq, created_at, updated_at, finished_at)
		VALUES ('done', 1, 'a.wav', '/a', 1, 'completed', '{"text":"old text","language":"en","duration":1,"segments":[{"start":0,"end":1,"text":"old text","words":null}]}', 1, ?, ?, ?),
		       ('running', 1, 'b.wav', '/b', 1, 'processing', NULL, 2, ?, ?, NULL)`,
		finished, finished, finished, finished, finished, finished)
	if err != nil {
		t.Fatal(err)
	}

	s, err := store.Open(ctx, store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := s.CurrentRevision(ctx, "done")
	if err != nil {
		t.Fatal(err)
	}
	if rev.Source != job.SourceUpstream || rev.AuthorID != 0 || !rev.CreatedAt.Equal(finished) || rev.Result.Segments[0].Text != "old text" {
		t.Fatalf("migrated revision %+v, result %+v", rev, rev.Result)
	}
	if j, err := s.Job(ctx, 1, "done"); err != nil || j.RevisionID != rev.ID {
		t.Fatalf("job's revision %d, want %d (%v)", j.RevisionID, rev.ID, err)
	}
	if got := sources(t, s, "running"); len(got) != 0 {
		t.Fatalf("a running job got revisions %v", got)
	}
	if _, _, err := s.SaveRevision(ctx, 1, "done", rev.ID, &job.Result{Text: "new", Duration: 1, Segments: []job.Segment{{End: 1, Text: "new"}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	var columns int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pragma_table_info('jobs') WHERE name = 'result_json'").Scan(&columns); err != nil || columns != 0 {
		t.Fatalf("result_json columns left: %d, %v", columns, err)
	}
	if _, err := p.DownTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	var raw string
	if err := db.QueryRowContext(ctx, "SELECT result_json FROM jobs WHERE id = 'done'").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if got, want := raw, `{"text":"new","language":"","duration":1,"segments":[{"start":0,"end":1,"text":"new","words":null}]}`; got != want {
		t.Fatalf("result_json after migrating down = %s, want %s", got, want)
	}
}
