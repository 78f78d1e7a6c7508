package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"scribe/job"
	"scribe/store"
)

// The search corpus: transcripts of segments of 12 words drawn from a
// 3,000-word vocabulary with Zipf's law, as speech has; one in a thousand
// also says "zeppelin".
const (
	corpusJobs  = 10_000
	corpusWords = 12
)

// searchCorpus opens a store holding corpusJobs completed jobs of one user
// (and 1,000 of another), indexed through the same triggers as the app's
// writes, and returns it with that user and the vocabulary, most common
// word first.
func searchCorpus(tb testing.TB, segments int) (*store.Store, store.User, []string) {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(tb.TempDir(), "scribe.db")
	s, err := store.Open(ctx, store.Options{Path: path})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=off&_busy_timeout=5000")
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
	now := time.Now().UTC()
	if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, created_at)
		VALUES (1, 'ann@example.com', x'00', ?), (2, 'bob@example.com', x'00', ?)`, now, now); err != nil {
		tb.Fatal(err)
	}
	addRevision, err := tx.PrepareContext(ctx, `INSERT INTO transcript_revisions (job_id, source, created_at, result_json)
		VALUES (?, 'upstream', ?, ?) RETURNING id`)
	if err != nil {
		tb.Fatal(err)
	}
	addJob, err := tx.PrepareContext(ctx, `INSERT INTO jobs (id, user_id, filename, audio_path, size_bytes, status,
		seq, revision_id, created_at, updated_at) VALUES (?, ?, ?, '/none', 1, 'completed', ?, ?, ?, ?)`)
	if err != nil {
		tb.Fatal(err)
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
		// The revision first, then its job, whose insert indexes it: an
		// insert alone keeps the index's pending terms in docid order (an
		// update would flush them per job). Hence no foreign keys here.
		var rev int64
		if err := addRevision.QueryRowContext(ctx, id, now, string(raw)).Scan(&rev); err != nil {
			tb.Fatal(err)
		}
		if _, err := addJob.ExecContext(ctx, id, owner, fmt.Sprintf("meeting-%d.mp3", i), i+1, rev, now, now); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("seeded %d transcripts (%d segments of %d words each) in %v", corpusJobs+corpusJobs/10, segments, corpusWords, time.Since(start).Round(time.Millisecond))
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

// TestSearchTenThousandTranscripts times a search of the first page among
// 10,000 transcripts (of 10 segments, to seed in seconds) against the 50 ms
// budget: the median of 7 runs of each query, in CPU time of the process,
// which other work on a shared machine inflates far less than wall time.
// Under the race detector it checks the results and only logs the times.
func TestSearchTenThousandTranscripts(t *testing.T) {
	s, ann, vocab := searchCorpus(t, 10)
	for name, q := range corpusQueries(vocab) {
		query, err := store.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		var took, cpus []time.Duration
		var page store.SearchPage
		for range 7 {
			start, c0 := time.Now(), cpuTime()
			page, err = s.Search(context.Background(), ann.ID, query, 0, 20)
			took = append(took, time.Since(start))
			cpus = append(cpus, cpuTime()-c0)
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
		if cpu > 50*time.Millisecond && !raceEnabled {
			t.Errorf("%s: median %v of CPU, over the 50 ms budget", name, cpu)
		}
	}
}

// BenchmarkSearch times each corpus query among 10,000 transcripts of
// about three minutes (30 segments) each (make bench).
func BenchmarkSearch(b *testing.B) {
	s, ann, vocab := searchCorpus(b, 30)
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
}

// cpuTime is the CPU time the process has used so far.
func cpuTime() time.Duration {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
