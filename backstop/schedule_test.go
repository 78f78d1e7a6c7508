package backstop_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"scribe/backstop"
	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
	"scribe/job"
	"scribe/metrics"
	"scribe/relay"
	"scribe/store"
	"scribe/store/storetest"
)

// defaults is the schedule of scribe's default settings.
var defaults = backstop.Schedule{StaleAfter: 30 * time.Minute, First: 10 * time.Minute, Max: 2 * time.Hour}

func TestSchedule(t *testing.T) {
	t.Parallel()
	var gaps []time.Duration
	for n := range 7 {
		gaps = append(gaps, defaults.Gap(n))
	}
	want := []time.Duration{10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 80 * time.Minute,
		2 * time.Hour, 2 * time.Hour, 2 * time.Hour}
	if !slices.Equal(gaps, want) {
		t.Errorf("gaps %v, want %v", gaps, want)
	}
	// 30, 40, 60, 100, 180 min, then every 2 h from 300 min to 1380 min.
	if got, want := defaults.PollsWithin(24*time.Hour), 15; got != want {
		t.Errorf("polls in a day %d, want %d", got, want)
	}
	if got, want := defaults.PollsWithin(29*time.Minute), 0; got != want {
		t.Errorf("polls before stale %d, want %d", got, want)
	}
}

// clock is a store clock the test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// held makes n jobs upstream that stay processing, records them as
// submitted at the clock's time, and waits until the upstream has moved
// them as far as they go.
func held(t *testing.T, fake *deepscripttest.Server, s *store.Store, u store.User, n int) []job.Job {
	t.Helper()
	fake.Plan = func(string) deepscripttest.Plan {
		return deepscripttest.Plan{Hold: true, Duration: 50 * time.Millisecond}
	}
	var jobs []job.Job
	for k := range n {
		jobs = append(jobs, submitted(t, fake, s, u, fmt.Sprintf("j%02d", k)))
	}
	time.Sleep(200 * time.Millisecond) // past the fake's last progress step
	return jobs
}

// TestBackoffOverADay drives a day of sweeps with the store's clock
// jumping to each next due poll: every stuck job is polled at the
// schedule's times, and a new Poller (a restart) halfway keeps to it.
func TestBackoffOverADay(t *testing.T) {
	t.Parallel()
	fake := deepscripttest.NewServer(t)
	s, u, p := newPoller(t, fake, 10*time.Minute)
	p.StaleAfter, p.MaxInterval = 30*time.Minute, 2*time.Hour
	clk := &clock{now: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	s.Now = clk.Now
	start := clk.Now()
	jobs := held(t, fake, s, u, 10)

	ctx := context.Background()
	var sweeps []time.Duration
	for n := 0; ; n++ {
		next, err := s.NextPollAt(ctx, p.StaleAfter)
		if err != nil {
			t.Fatal(err)
		}
		if next.IsZero() || next.Sub(start) > 24*time.Hour {
			break
		}
		clk.Set(next)
		sweeps = append(sweeps, next.Sub(start))
		if n == 6 { // a restart: a new Poller with nothing in memory
			log := slog.New(slog.DiscardHandler)
			c, m := fake.Client(), metrics.New()
			p = backstop.New(s, c, relay.New(s, c, m, log), m, log, 10*time.Minute, 30*time.Minute)
		}
		p.Sweep(ctx)
	}

	var want []time.Duration
	for at, n := defaults.StaleAfter, 0; at <= 24*time.Hour; at, n = at+defaults.Gap(n), n+1 {
		want = append(want, at)
	}
	if !slices.Equal(sweeps, want) {
		t.Errorf("sweeps at %v after submission, want %v", sweeps, want)
	}
	perJob := defaults.PollsWithin(24 * time.Hour)
	for _, j := range jobs {
		if up, _ := fake.JobByKey(j.ID); up.Polls != perJob {
			t.Errorf("job %s polled %d times in a day, want %d", j.ID, up.Polls, perJob)
		}
	}
	const stuck = 50000
	t.Logf("%d jobs stuck for a day: %d polls each, %d status requests in the day (%d/h on average, %d/h at the cap); "+
		"polling every stale job every 10 min would send %d/h",
		stuck, perJob, stuck*perJob, stuck*perJob/24, int(stuck*time.Hour/defaults.Max), stuck*6)
}

// TestUnchangedPollWritesNothing: a sweep whose polls find nothing new
// changes only the claimed jobs' schedules, in one statement per batch.
func TestUnchangedPollWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := deepscripttest.NewServer(t)
	s, u, p := newPoller(t, fake, time.Minute)
	clk := &clock{now: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	s.Now = clk.Now
	jobs := held(t, fake, s, u, 20)
	p.Sweep(ctx) // the first polls bring the upstream's progress
	seqs := map[string]int64{}
	for _, j := range jobs {
		got, err := s.Job(ctx, u.ID, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != job.StatusProcessing || got.Polls != 1 {
			t.Fatalf("after the first sweep: %s with %d polls, want processing with 1", got.Status, got.Polls)
		}
		seqs[j.ID] = got.Seq
	}

	clk.Set(clk.Now().Add(time.Minute))
	before, err := s.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.Sweep(ctx)
	after, err := s.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(fake.Polls()), 40; got != want {
		t.Fatalf("%d polls, want %d", got, want)
	}
	if got, want := after-before, int64(len(jobs)); got != want {
		t.Errorf("a sweep of %d unchanged jobs changed %d rows, want %d (their schedules only)", len(jobs), got, want)
	}
	for _, j := range jobs {
		if got, _ := s.Job(ctx, u.ID, j.ID); got.Seq != seqs[j.ID] || got.Polls != 2 {
			t.Errorf("job %s: seq %d → %d, %d polls; want the seq unchanged and 2 polls", j.ID, seqs[j.ID], got.Seq, got.Polls)
		}
	}
}

// TestRetryAfterHoldsConcurrentPolls: with several polls in flight, a
// 429 stops every poll from starting until its Retry-After has passed,
// and the job that drew it is polled again after that.
func TestRetryAfterHoldsConcurrentPolls(t *testing.T) {
	t.Parallel()
	fake := deepscripttest.NewServer(t)
	fake.Plan = func(name string) deepscripttest.Plan {
		return deepscripttest.Plan{Hold: true, StatusLimited: map[string]int{"a.wav": 1}[name]}
	}
	s, u, p := newPoller(t, fake, 50*time.Millisecond)
	p.MaxInterval = 200 * time.Millisecond
	limited := submitted(t, fake, s, u, "a") // polled first: submitted first
	for k := range 29 {
		submitted(t, fake, s, u, fmt.Sprintf("b%02d", k))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // room for a loaded machine
	defer cancel()
	p.Run(ctx)

	polls := fake.Polls()
	i := slices.IndexFunc(polls, func(p deepscripttest.Poll) bool { return p.Status == http.StatusTooManyRequests })
	if i < 0 {
		t.Fatal("no poll answered 429")
	}
	at := polls[i].At
	var after []deepscripttest.Poll
	for _, p := range polls {
		// Polls sent before the 429 reached the poller may arrive a little
		// after it: on a loaded machine, up to a few hundred ms.
		if d := p.At.Sub(at); d > 400*time.Millisecond && d < 950*time.Millisecond {
			t.Errorf("a poll of %s started %v after the 429 with Retry-After: 1", p.UpstreamID, d)
		}
		if p.At.Sub(at) >= 950*time.Millisecond {
			after = append(after, p)
		}
	}
	if !slices.ContainsFunc(after, func(p deepscripttest.Poll) bool { return p.UpstreamID == limited.UpstreamID }) {
		t.Errorf("the rate-limited job was not polled again after Retry-After (%d polls after it)", len(after))
	}
}

// BenchmarkSweep50k times one sweep of 50,000 due jobs that are all still
// processing, against an upstream on loopback that answers at once.
func BenchmarkSweep50k(b *testing.B) {
	const n = 50000
	var answered atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answered.Add(1)
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/transcriptions/"), "/status")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"status":"processing","progress":0.5,"created_at":"2026-11-30T08:00:00Z","updated_at":"2026-11-30T08:00:00Z"}`, id)
	}))
	b.Cleanup(upstream.Close)
	path := filepath.Join(b.TempDir(), "scribe.db")
	s, err := store.Open(context.Background(), store.Options{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	u := storetest.User(b, s, "ada@example.com")
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	then := time.Now().UTC().Add(-time.Hour)
	for k := range n {
		if _, err := tx.Exec(`INSERT INTO jobs (id, user_id, filename, audio_path, size_bytes, upstream_id, submitted_at,
			status, progress, seq, created_at, updated_at) VALUES (?, ?, 'a.wav', '/nowhere', 1, ?, ?, 'processing', 0.5, 1, ?, ?)`,
			fmt.Sprintf("j%05d", k), u.ID, fmt.Sprintf("tr_%05d", k), then, then, then); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	c, m := deepscript.New(upstream.URL, "key", nil), metrics.New()
	p := backstop.New(s, c, relay.New(s, c, m, log), m, log, 10*time.Minute, 30*time.Minute)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if _, err := db.Exec("UPDATE jobs SET next_poll_at = NULL"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		p.Sweep(ctx)
	}
	b.StopTimer()
	if got := answered.Load(); got != int64(n*b.N) {
		b.Fatalf("%d polls answered, want %d", got, n*b.N)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "polls/s")
}
