package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"scribe/job"
	"scribe/sqldb"
	"scribe/store"
	"scribe/store/storetest"
)

// The search corpus: transcripts of segments of 12 words drawn from a
// 3,000-word vocabulary with Zipf's law, as speech has; one in a thousand
// also says "zeppelin".
const (
	corpusJobs  = 10_000
	corpusWords = 12
)

// searchCorpus opens a store on d holding corpusJobs completed jobs of one
// user (and 1,000 of another), indexed as an installation's are: on
// SQLite through the same triggers as the app's writes, on PostgreSQL by
// the store when it opens, as after migration 0002, then vacuumed and
// analysed as autovacuum would. It returns the store with that user and
// the vocabulary, most common word first.
func searchCorpus(tb testing.TB, d sqldb.Dialect, segments int) (*store.Store, store.User, []string) {
	tb.Helper()
	ctx := context.Background()
	o := storetest.OptionsOn(tb, d)
	s, err := store.Open(ctx, o)
	if err != nil {
		tb.Fatal(err)
	}
	var db *sql.DB
	if d == sqldb.Postgres {
		s.Close() // reopened once seeded, to index
		db, err = sqldb.OpenPostgres(ctx, o.URL)
	} else {
		tb.Cleanup(func() { s.Close() })
		db, err = sql.Open("sqlite3", "file:"+o.Path+"?_foreign_keys=off&_busy_timeout=5000")
	}
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	syllables := strings.Fields("ka lo mi ne ru sa te vi do pa ge lu ba ri so na ti ma ko fe")
	vocab := make([]string, 0, 3000)
	seen := map[string]bool{}
	for len(vocab) < cap(vocab) {
		var w string
		for range 2 + rng.IntN(3) {
			w += syllables[rng.IntN(len(syllables))]
		}
		if !seen[w] {
			seen[w] = true
			vocab = append(vocab, w)
		}
	}
	zipf := rand.NewZipf(rng, 1.1, 2, uint64(len(vocab)-1))
	// Transcripts are drawn from a pool of segments, which is quicker
	// than drawing every word and still gives each its own text.
	pool := make([]string, 4096)
	for k := range pool {
		words := make([]string, corpusWords)
		for w := range words {
			words[w] = vocab[zipf.Uint64()]
		}
		pool[k] = strings.Join(words, " ")
	}

	start := time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	w := &sqldb.Tx{Tx: tx, Dialect: d}
	now := time.Now().UTC()
	if _, err := w.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, created_at)
		VALUES (1, 'ann@example.com', ?, ?), (2, 'bob@example.com', ?, ?)`, []byte{0}, now, []byte{0}, now); err != nil {
		tb.Fatal(err)
	}
	// 500 jobs a statement. On SQLite each revision comes before its
	// job, whose insert indexes it: an insert alone keeps the index's
	// pending terms in docid order (an update would flush them per job),
	// hence no foreign keys there. PostgreSQL's revisions need their jobs.
	const batch = 500
	var revisions, jobs []string
	var revArgs, jobArgs []any
	flush := func() {
		stmts := []string{"INSERT INTO transcript_revisions (id, job_id, source, created_at, result_json) VALUES " + strings.Join(revisions, ", "),
			`INSERT INTO jobs (id, user_id, filename, audio_path, size_bytes, status, seq, revision_id, created_at, updated_at)
			VALUES ` + strings.Join(jobs, ", ")}
		args := [][]any{revArgs, jobArgs}
		if d == sqldb.Postgres {
			slices.Reverse(stmts)
			slices.Reverse(args)
		}
		for k := range stmts {
			if _, err := w.ExecContext(ctx, stmts[k], args[k]...); err != nil {
				tb.Fatal(err)
			}
		}
		revisions, jobs, revArgs, jobArgs = nil, nil, nil, nil
	}
	for i := range corpusJobs + corpusJobs/10 {
		owner := 1
		if i >= corpusJobs {
			owner = 2
		}
		id := fmt.Sprintf("j%05d", i)
		res := job.Result{Language: "en"}
		for k := range segments {
			text := pool[rng.IntN(len(pool))]
			if i%1000 == 7 && k == segments/2 {
				text = "the zeppelin " + text
			}
			res.Segments = append(res.Segments, job.Segment{Start: float64(k) * 6, End: float64(k)*6 + 5.5, Text: text})
		}
		raw, err := json.Marshal(res)
		if err != nil {
			tb.Fatal(err)
		}
		revisions = append(revisions, "(?, ?, 'upstream', ?, ?)")
		revArgs = append(revArgs, i+1, id, now, string(raw))
		jobs = append(jobs, "(?, ?, ?, '/none', 1, 'completed', ?, ?, ?, ?)")
		jobArgs = append(jobArgs, id, owner, fmt.Sprintf("meeting-%d.mp3", i), i+1, i+1, now, now)
		if len(jobs) == batch {
			flush()
		}
	}
	if len(jobs) > 0 {
		flush()
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if d == sqldb.Postgres {
		if s, err = store.Open(ctx, o); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		if _, err := db.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
			tb.Fatal(err)
		}
	}
	runtime.GC() // the seeding's garbage, not the searches'
	tb.Logf("seeded %d transcripts (%d segments of %d words each) on %s in %v", corpusJobs+corpusJobs/10, segments, corpusWords, d, time.Since(start).Round(time.Millisecond))
	return s, store.User{ID: 1}, vocab
}

// corpusQueries are the searches timed: the commonest word (in every
// transcript: the worst case, as every one is ranked), a rare word, a
// phrase of two common words and a two-letter prefix.
func corpusQueries(vocab []string) map[string]string {
	return map[string]string{
		"CommonWord": vocab[0],
		"RareWord":   "zeppelin",
		"Phrase":     `"` + vocab[0] + " " + vocab[1] + `"`,
		"Prefix":     vocab[0][:2] + "*",
	}
}

// searchBudget is the CPU a search among 10,000 transcripts may take.
// SQLite's is issue 11's 50 ms. PostgreSQL took about three times
// SQLite's in the same runs: FTS4 ranks from the counts in its index,
// while PostgreSQL's index holds no counts, so every match's tsvector is
// read to count its hits (README, "Search").
var searchBudget = map[sqldb.Dialect]time.Duration{sqldb.SQLite: 50 * time.Millisecond, sqldb.Postgres: 150 * time.Millisecond}

// TestSearchTenThousandTranscripts times a search of the first page among
// 10,000 transcripts (of 10 segments, to seed in seconds) against the
// budget, on each database: the median of 7 runs of each query, in CPU
// time of the process and of its PostgreSQL server, which other work on a
// shared machine inflates far less than wall time. Under the race
// detector it checks the results and only logs the times.
func TestSearchTenThousandTranscripts(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) { testSearchTenThousandTranscripts(t, d) })
	}
}

func testSearchTenThousandTranscripts(t *testing.T, d sqldb.Dialect) {
	s, ann, vocab := searchCorpus(t, d, 10)
	for name, q := range corpusQueries(vocab) {
		query, err := store.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		var took, cpus []time.Duration
		var page store.SearchPage
		for range 7 {
			start, c0 := time.Now(), cpuTime(t)
			page, err = s.Search(context.Background(), ann.ID, query, 0, 20)
			took = append(took, time.Since(start))
			cpus = append(cpus, cpuTime(t)-c0)
			if err != nil {
				t.Fatal(err)
			}
		}
		slices.Sort(took)
		slices.Sort(cpus)
		median, cpu := took[len(took)/2], cpus[len(cpus)/2]
		t.Logf("%-10s %-22q %2d hits on the page, more: %-5v median %v of CPU (%v of wall time, fastest %v)",
			name, q, len(page.Hits), page.More, cpu.Round(10*time.Microsecond), median.Round(10*time.Microsecond),
			took[0].Round(10*time.Microsecond))
		if len(page.Hits) == 0 {
			t.Errorf("%s: no hits", name)
		}
		for _, h := range page.Hits {
			if h.JobID >= fmt.Sprintf("j%05d", corpusJobs) {
				t.Fatalf("%s: another user's job %s", name, h.JobID)
			}
		}
		if cpu > searchBudget[d] && !raceEnabled {
			t.Errorf("%s: median %v of CPU, over the %v budget", name, cpu, searchBudget[d])
		}
	}
}

// BenchmarkSearch times each corpus query among 10,000 transcripts of
// about three minutes (30 segments) each (make bench), on each database.
func BenchmarkSearch(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			s, ann, vocab := searchCorpus(b, d, 30)
			for name, q := range corpusQueries(vocab) {
				query, err := store.ParseQuery(q)
				if err != nil {
					b.Fatal(err)
				}
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						if _, err := s.Search(context.Background(), ann.ID, query, 0, 20); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// cpuTime is the CPU time the process and its children still running
// (the tests' PostgreSQL server and its backends) have used so far. The
// children's is read first, so reading it is not counted.
func cpuTime(tb testing.TB) time.Duration {
	children := descendantsCPU(tb, os.Getpid())
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano()+r.Stime.Nano()) + children
}

// descendantsCPU adds up the time on a CPU, from /proc/PID/schedstat in
// nanoseconds, of process pid's descendants.
func descendantsCPU(tb testing.TB, pid int) time.Duration {
	lists, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		tb.Fatal(err)
	}
	var total time.Duration
	for _, list := range lists {
		raw, _ := os.ReadFile(list) // gone if the thread ended since
		for _, field := range strings.Fields(string(raw)) {
			child, err := strconv.Atoi(field)
			if err != nil {
				tb.Fatalf("%s: %v", list, err)
			}
			if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", child)); err == nil {
				var ns int64
				fmt.Sscan(string(stat), &ns)
				total += time.Duration(ns)
			}
			total += descendantsCPU(tb, child)
		}
	}
	return total
}
