package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"scribe/job"
	"scribe/migrations"
	"scribe/sqldb"
	"scribe/store"
	"scribe/store/storetest"
)

// transcriptOf makes a result with one segment per line, 10 s apart.
func transcriptOf(lines ...string) *job.Result {
	r := &job.Result{Language: "en", Text: strings.Join(lines, " ")}
	for i, l := range lines {
		r.Segments = append(r.Segments, job.Segment{Start: float64(i) * 10, End: float64(i)*10 + 9, Text: l})
	}
	r.Duration = float64(len(lines)) * 10
	return r
}

// completeWith makes a completed job of u's named id with the transcript lines.
func completeWith(t testing.TB, s *store.Store, u store.User, id string, lines ...string) job.Job {
	t.Helper()
	storetest.SubmittedJob(t, s, u, id, "up-"+id)
	j, changed, err := s.ApplyUpdate(context.Background(), job.Update{UpstreamID: "up-" + id, Status: job.StatusCompleted,
		Result: transcriptOf(lines...), Via: job.ViaWebhook})
	if err != nil || !changed {
		t.Fatalf("complete %s: changed=%v, %v", id, changed, err)
	}
	return j
}

func search(t testing.TB, s *store.Store, u store.User, q string) []store.SearchHit {
	t.Helper()
	page, err := searchPage(s, u, q, 0, 50)
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	return page.Hits
}

func searchPage(s *store.Store, u store.User, q string, page, size int) (store.SearchPage, error) {
	query, err := store.ParseQuery(q)
	if err != nil {
		return store.SearchPage{}, err
	}
	return s.Search(context.Background(), u.ID, query, page, size)
}

func hitIDs(hits []store.SearchHit) string {
	var out []string
	for _, h := range hits {
		out = append(out, h.JobID)
	}
	return strings.Join(out, ",")
}

// marked is a snippet with its matches in [brackets].
func marked(m store.Marked) string {
	var b strings.Builder
	for _, r := range m {
		if r.Match {
			b.WriteString("[" + r.Text + "]")
		} else {
			b.WriteString(r.Text)
		}
	}
	return b.String()
}

func TestSearch(t *testing.T) { storetest.Each(t, testSearch) }

func testSearch(t *testing.T, s *store.Store) {
	ann, bob := storetest.User(t, s, "ann@example.com"), storetest.User(t, s, "bob@example.com")
	completeWith(t, s, ann, "minutes",
		"good morning everyone",
		"the quarterly budget is on the agenda today",
		"we close at noon")
	completeWith(t, s, ann, "budget-review",
		"budget first",
		"the budget the budget and the budget again",
		"budget planning for the budget committee")
	completeWith(t, s, ann, "lunch", "we talked about lunch", "and a budget quarterly in passing")
	completeWith(t, s, bob, "bobs", "bob's own quarterly budget")
	storetest.QueuedJob(t, s, ann, "interview-notes")

	t.Run("BetterMatchFirst", func(t *testing.T) {
		// Seven mentions beat one; of one mention each, the shorter text wins.
		hits := search(t, s, ann, "budget")
		if got, want := hitIDs(hits), "budget-review,lunch,minutes"; got != want {
			t.Fatalf("order %s, want %s", got, want)
		}
	})
	t.Run("Phrase", func(t *testing.T) {
		hits := search(t, s, ann, `"quarterly budget"`)
		if got, want := hitIDs(hits), "minutes"; got != want {
			t.Fatalf("hits %s, want %s", got, want)
		}
		if got, want := hits[0].Start, 10.0; got != want {
			t.Errorf("start %v, want %v (the second segment)", got, want)
		}
		if got, want := marked(hits[0].Snippet), "the [quarterly] [budget] is on the agenda today"; got != want {
			t.Errorf("snippet %q, want %q", got, want)
		}
	})
	t.Run("WordsInAnyOrder", func(t *testing.T) {
		if got, want := hitIDs(search(t, s, ann, "budget quarterly")), "lunch,minutes"; got != want && got != "minutes,lunch" {
			t.Fatalf("hits %s, want %s in some order", got, want)
		}
	})
	t.Run("Prefix", func(t *testing.T) {
		hits := search(t, s, ann, "quarter*")
		if got, want := len(hits), 2; got != want {
			t.Fatalf("%d hits (%s), want %d", got, hitIDs(hits), want)
		}
		if got := hitIDs(search(t, s, ann, "quarter")); got != "" {
			t.Errorf("a whole word found %s: it should not match quarterly", got)
		}
	})
	t.Run("BestSegment", func(t *testing.T) {
		hits := search(t, s, ann, "budget committee")
		if got, want := hitIDs(hits), "budget-review"; got != want {
			t.Fatalf("hits %s, want %s", got, want)
		}
		if got, want := hits[0].Start, 20.0; got != want {
			t.Errorf("start %v, want %v: the segment with both words", got, want)
		}
	})
	t.Run("Filename", func(t *testing.T) {
		hits := search(t, s, ann, "interview")
		if got, want := hitIDs(hits), "interview-notes"; got != want {
			t.Fatalf("hits %s, want %s", got, want)
		}
		if got, want := marked(hits[0].Filename), "[interview]-notes.wav"; got != want {
			t.Errorf("filename %q, want %q", got, want)
		}
		if hits[0].Start != 0 || len(hits[0].Snippet) != 0 {
			t.Errorf("a filename match has start %v, snippet %q", hits[0].Start, hits[0].Snippet)
		}
	})
	t.Run("OtherUsersNever", func(t *testing.T) {
		if got := hitIDs(search(t, s, bob, "budget")); got != "bobs" {
			t.Fatalf("bob found %s", got)
		}
		if got := hitIDs(search(t, s, ann, "bob")); got != "" {
			t.Fatalf("ann found %s", got)
		}
	})
	t.Run("CaseAndAccents", func(t *testing.T) {
		if got := hitIDs(search(t, s, ann, "MÓRNING")); got != "minutes" {
			t.Fatalf("hits %s", got)
		}
	})
	t.Run("OperatorsAreWords", func(t *testing.T) {
		for _, q := range []string{`budget OR lunch`, `body:budget`, `NEAR budget`, `budget -lunch`, `(budget`, `budget NOT`} {
			if _, err := searchPage(s, ann, q, 0, 10); err != nil {
				t.Errorf("%q: %v", q, err)
			}
		}
		if got := hitIDs(search(t, s, ann, "budget OR lunch")); got != "" {
			t.Errorf("OR is a word to find, yet found %s", got)
		}
	})
}

func TestParseQueryRefuses(t *testing.T) {
	for name, q := range map[string]string{
		"Empty":         "   ",
		"Punctuation":   `"" -- !!`,
		"TooLong":       strings.Repeat("a", store.MaxQueryBytes+1),
		"TooManyTerms":  "a b c d e f g h i j k",
		"ShortPrefix":   "b*",
		"LoneStar":      "*",
		"StarAfterWord": "budget.*",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := store.ParseQuery(q)
			if got, want := job.ErrorCode(err), job.CodeInvalid; got != want {
				t.Fatalf("%q: %v (code %s), want %s", q, err, got, want)
			}
		})
	}
}

func TestSearchIndexFollowsChanges(t *testing.T) { storetest.Each(t, testSearchIndexFollowsChanges) }

func testSearchIndexFollowsChanges(t *testing.T, s *store.Store) {
	ctx := context.Background()
	ann := storetest.User(t, s, "ann@example.com")
	j := completeWith(t, s, ann, "talk", "the first draft", "mentions apples")
	if got := hitIDs(search(t, s, ann, "apples")); got != "talk" {
		t.Fatalf("completed: %q", got)
	}
	first := j.RevisionID

	edited := transcriptOf("the first draft", "mentions pears", "and plums")
	j, _, err := s.SaveRevision(ctx, ann.ID, j.ID, first, edited)
	if err != nil {
		t.Fatal(err)
	}
	if got := hitIDs(search(t, s, ann, "apples")); got != "" {
		t.Errorf("edited away, still found: %q", got)
	}
	hits := search(t, s, ann, "plums")
	if hitIDs(hits) != "talk" || hits[0].Start != 20 {
		t.Errorf("edited in: %q at %v", hitIDs(hits), hits)
	}

	if _, _, err := s.RestoreRevision(ctx, ann.ID, j.ID, first); err != nil {
		t.Fatal(err)
	}
	if got := hitIDs(search(t, s, ann, "apples")); got != "talk" {
		t.Errorf("restored, not found: %q", got)
	}
	if got := hitIDs(search(t, s, ann, "plums")); got != "" {
		t.Errorf("restored away, still found: %q", got)
	}

	// A late result from the upstream is kept as a revision, not shown.
	if _, _, err := s.ApplyUpdate(ctx, job.Update{UpstreamID: "up-talk", Status: job.StatusCompleted,
		Result: transcriptOf("late cherries"), Via: job.ViaPoll}); err != nil {
		t.Fatal(err)
	}
	if got := hitIDs(search(t, s, ann, "cherries")); got != "" {
		t.Errorf("a late result that is not current was found: %q", got)
	}

	// A renamed job is found by its new name and its uploaded filename.
	name := "Quarterly orchard review"
	if _, err := s.OrganiseJob(ctx, ann.ID, j.ID, job.Organise{Name: &name}); err != nil {
		t.Fatal(err)
	}
	hits = search(t, s, ann, "orchard")
	if hitIDs(hits) != "talk" || hits[0].Filename.String() != name {
		t.Errorf("renamed: %q, %+v", hitIDs(hits), hits)
	}
	if got := hitIDs(search(t, s, ann, "talk")); got != "talk" {
		t.Errorf("renamed: uploaded filename no longer found: %q", got)
	}

	if _, err := s.DeleteJob(ctx, ann.ID, j.ID); err != nil {
		t.Fatal(err)
	}
	if got := hitIDs(search(t, s, ann, "apples")); got != "" {
		t.Errorf("deleted, still found: %q", got)
	}
	if got := hitIDs(search(t, s, ann, "talk")); got != "" {
		t.Errorf("deleted, filename still found: %q", got)
	}
}

func TestSearchPages(t *testing.T) { storetest.Each(t, testSearchPages) }

func testSearchPages(t *testing.T, s *store.Store) {
	ann := storetest.User(t, s, "ann@example.com")
	for i := range 25 {
		completeWith(t, s, ann, fmt.Sprintf("job%02d", i), strings.Repeat("report ", i+1)+"and the rest of the text")
	}
	seen := map[string]bool{}
	var sizes []int
	for page := 0; ; page++ {
		p, err := searchPage(s, ann, "report", page, 10)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(p.Hits))
		for _, h := range p.Hits {
			if seen[h.JobID] {
				t.Fatalf("%s on two pages", h.JobID)
			}
			seen[h.JobID] = true
		}
		if !p.More {
			break
		}
	}
	if got, want := fmt.Sprint(sizes), "[10 10 5]"; got != want {
		t.Fatalf("page sizes %s, want %s", got, want)
	}
	p, err := searchPage(s, ann, "report", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Hits[0].JobID, "job24"; got != want {
		t.Errorf("best %s, want %s (the most mentions)", got, want)
	}
	if p, err := searchPage(s, ann, "report", 9, 10); err != nil || len(p.Hits) != 0 || p.More {
		t.Errorf("past the end: %+v, %v", p, err)
	}
}

func TestSearchSnippetOfLongSegment(t *testing.T) { storetest.Each(t, testSearchSnippetOfLongSegment) }

func testSearchSnippetOfLongSegment(t *testing.T, s *store.Store) {
	ann := storetest.User(t, s, "ann@example.com")
	long := strings.Repeat("filler words here ", 40) + "the needle is here " + strings.Repeat("more filler after ", 40)
	completeWith(t, s, ann, "long", "short start", long)
	hits := search(t, s, ann, "needle")
	if len(hits) != 1 {
		t.Fatalf("hits %s", hitIDs(hits))
	}
	got := marked(hits[0].Snippet)
	if !strings.Contains(got, "the [needle] is here") || !strings.HasPrefix(got, "… ") || !strings.HasSuffix(got, " …") || len(got) > 300 {
		t.Errorf("snippet %q", got)
	}
}

// TestSearchMigrationIndexesExistingJobs applies the search migration to a
// database that already has jobs: SQLite's 0008 indexes them in SQL, and
// on PostgreSQL the store does when it opens after 0002.
func TestSearchMigrationIndexesExistingJobs(t *testing.T) {
	ctx := context.Background()
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			o := storetest.OptionsOn(t, d)
			var db *sql.DB
			var err error
			before := int64(5) // SQLite's last migration before search
			if d == sqldb.Postgres {
				db, err = sqldb.OpenPostgres(ctx, o.URL)
				before = 1
			} else {
				db, err = sql.Open("sqlite3", "file:"+o.Path)
			}
			if err != nil {
				t.Fatal(err)
			}
			p, err := goose.NewProvider(d.Goose(), db, migrations.For(d))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, before); err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
			w := sqldb.DB{DB: db, Dialect: d}
			for _, st := range []struct {
				query string
				args  []any
			}{
				{"INSERT INTO users (id, email, password_hash, created_at) VALUES (1, 'a@example.com', ?, ?)", []any{[]byte{0}, now}},
				{`INSERT INTO jobs (id, user_id, filename, audio_path, size_bytes, status, seq, created_at, updated_at)
					VALUES ('done', 1, 'a.wav', '/a', 1, 'completed', 1, ?, ?), ('queued', 1, 'standup.wav', '/b', 1, 'queued', 2, ?, ?)`,
					[]any{now, now, now, now}},
				{`INSERT INTO transcript_revisions (id, job_id, source, created_at, result_json)
					VALUES (7, 'done', 'upstream', ?, '{"segments":[{"start":0,"end":1,"text":"old words"},{"start":3.5,"end":4,"text":"found here"}]}')`,
					[]any{now}},
				{"UPDATE jobs SET revision_id = 7 WHERE id = 'done'", nil},
			} {
				if _, err := w.ExecContext(ctx, st.query, st.args...); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			s, err := store.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			u := store.User{ID: 1}
			if hits := search(t, s, u, "found"); hitIDs(hits) != "done" || hits[0].Start != 3.5 {
				t.Errorf("transcript: %+v", hits)
			}
			if got := hitIDs(search(t, s, u, "standup")); got != "queued" {
				t.Errorf("filename: %q", got)
			}
		})
	}
}
