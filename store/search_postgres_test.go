package store

import (
	"context"
	"fmt"
	"math"
	"testing"

	"scribe/job"
	"scribe/pgtest"
	"scribe/sqldb"
)

// TestBM25OnPostgresIsBM25 checks that the ranking PostgreSQL computes in
// SQL gives the scores bm25 gives SQLite's matches, for the same counts.
func TestBM25OnPostgresIsBM25(t *testing.T) {
	db, err := sqldb.OpenPostgres(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		filename, body, filenameDocs, bodyDocs, n, words, avg float64
	}{
		{0, 1, 0, 3, 4, 9, 12},
		{1, 7, 2, 3, 4, 16, 12},
		{0, 25, 0, 25, 25, 31, 18.5},
		{2, 0, 5, 0, 10000, 120, 0.5},
		{0, 256, 0, 9000, 10000, 3000, 120},
	} {
		want := bm25([]phraseCounts{{hits: [2]float64{c.filename, c.body}, docs: [2]float64{c.filenameDocs, c.bodyDocs}}}, c.n, c.words, c.avg)
		var got float64
		err := db.QueryRow(`SELECT `+bm25Term("f", "df", filenameWeight, "1")+` + `+
			bm25Term("b", "db", bodyWeight, bm25Norm)+`
			FROM (SELECT $1::float8, $2::float8, $3::float8, $4::float8, $5::float8, $6::float8, $7::float8)
			AS c (f, b, df, db, n, words, avg)`, c.filename, c.body, c.filenameDocs, c.bodyDocs, c.n, c.words, c.avg).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-9*max(1, want) {
			t.Errorf("%+v: %v in SQL, want %v", c, got, want)
		}
	}
}

// TestSearchStatsFollowDocuments checks that search_stats holds each
// user's count of documents and of their words through every kind of
// write: jobs created, completed, renamed, edited, deleted, and a user
// deleted with their jobs.
func TestSearchStatsFollowDocuments(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{URL: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(step string) {
		t.Helper()
		var wrong int
		err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM search_stats s FULL JOIN
			(SELECT user_id, count(*) AS documents, sum(words) AS words FROM search_documents GROUP BY user_id) d
			ON d.user_id = s.user_id
			WHERE s.documents IS DISTINCT FROM COALESCE(d.documents, 0) OR s.words IS DISTINCT FROM COALESCE(d.words, 0)`).Scan(&wrong)
		if err != nil {
			t.Fatal(err)
		}
		if wrong != 0 {
			t.Fatalf("%s: %d users' stats are wrong", step, wrong)
		}
	}
	ann, err := s.CreateUser(ctx, "ann@example.com", []byte("h"))
	if err != nil {
		t.Fatal(err)
	}
	bob, err := s.CreateUser(ctx, "bob@example.com", []byte("h"))
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range []User{ann, ann, bob} {
		id := fmt.Sprint("j", i)
		if _, err := s.CreateJob(ctx, job.Job{ID: id, UserID: u.ID, Filename: id + ".wav", AudioPath: "/a", SizeBytes: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MarkSubmitted(ctx, id, "up-"+id); err != nil {
			t.Fatal(err)
		}
	}
	check("created")
	for _, id := range []string{"j0", "j1", "j2"} {
		res := &job.Result{Segments: []job.Segment{{Text: "a few words here"}, {Text: "and " + id}}}
		if _, _, err := s.ApplyUpdate(ctx, job.Update{UpstreamID: "up-" + id, Status: job.StatusCompleted, Result: res}); err != nil {
			t.Fatal(err)
		}
	}
	check("completed")
	j, err := s.Job(ctx, ann.ID, "j0")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SaveRevision(ctx, ann.ID, "j0", j.RevisionID, &job.Result{Segments: []job.Segment{{Text: "one"}}}); err != nil {
		t.Fatal(err)
	}
	name := "renamed meeting"
	if _, err := s.OrganiseJob(ctx, ann.ID, "j1", job.Organise{Name: &name}); err != nil {
		t.Fatal(err)
	}
	check("edited and renamed")
	if _, err := s.DeleteJob(ctx, ann.ID, "j1"); err != nil {
		t.Fatal(err)
	}
	check("deleted")
	if _, err := s.writer.ExecContext(ctx, "DELETE FROM users WHERE id = ?", bob.ID); err != nil {
		t.Fatal(err)
	}
	check("user deleted")
}
