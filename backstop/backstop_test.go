package backstop_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

// newPoller returns a store, a user, and a Poller of that store polling
// fake, sweeping every interval and taking every submitted job as stale.
func newPoller(t *testing.T, fake *deepscripttest.Server, interval time.Duration) (*store.Store, store.User, *backstop.Poller) {
	t.Helper()
	s := storetest.Open(t)
	log := slog.New(slog.DiscardHandler)
	c := fake.Client()
	m := metrics.New()
	return s, storetest.User(t, s, "ada@example.com"), backstop.New(s, c, relay.New(s, c, m, log), m, log, interval, 0)
}

// submitted creates a job upstream for a file named id+".wav" and records
// it as submitted.
func submitted(t *testing.T, fake *deepscripttest.Server, s *store.Store, u store.User, id string) job.Job {
	t.Helper()
	return storetest.SubmittedJob(t, s, u, id, fake.Create(t, id+".wav", id).ID)
}

// run runs p until the test ends.
func run(t *testing.T, p *backstop.Poller) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v", err)
		}
	})
}

// TestRetryAfterHoldsEveryPoll checks that a 429 stops all status polls,
// of every job and across sweeps, until its Retry-After has passed, even
// when the poll interval is much shorter.
func TestRetryAfterHoldsEveryPoll(t *testing.T) {
	t.Parallel()
	fake := deepscripttest.NewServer(t)
	fake.Plan = func(name string) deepscripttest.Plan {
		return deepscripttest.Plan{Hold: true, StatusLimited: map[string]int{"a.wav": 1}[name]}
	}
	s, u, p := newPoller(t, fake, 50*time.Millisecond)
	p.Concurrency = 1             // one poll at a time, so the second is sent after the 429
	submitted(t, fake, s, u, "a") // polled first: submitted first
	submitted(t, fake, s, u, "b")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // room for a loaded machine
	defer cancel()
	p.Run(ctx)

	polls := fake.Polls()
	if len(polls) < 2 {
		t.Fatalf("%d polls in 3 s; want the polls to resume after Retry-After", len(polls))
	}
	if got, want := polls[0].Status, http.StatusTooManyRequests; got != want {
		t.Fatalf("first poll answered %d, want %d", got, want)
	}
	if gap := polls[1].At.Sub(polls[0].At); gap < 950*time.Millisecond {
		t.Fatalf("next poll (of %s) %v after a 429 with Retry-After: 1; want at least 1 s", polls[1].UpstreamID, gap)
	}
}

// TestPollFindsFinalState: jobs whose webhook and stream never bring the
// end learn it from the poll, whatever it is, through failing polls too.
func TestPollFindsFinalState(t *testing.T) {
	t.Parallel()
	fake := deepscripttest.NewServer(t)
	plans := map[string]deepscripttest.Plan{
		"done.wav":   {StatusErrors: 2},
		"failed.wav": {Fail: true, ErrorCode: "unsupported_media"},
		"gone.wav":   {Hold: true},
	}
	fake.Plan = func(name string) deepscripttest.Plan { return plans[name] }
	s, u, p := newPoller(t, fake, 20*time.Millisecond)
	jobs := map[string]job.Job{}
	for _, id := range []string{"done", "failed", "gone"} {
		jobs[id] = submitted(t, fake, s, u, id)
	}
	if err := fake.Client().DeleteTranscription(context.Background(), jobs["gone"].UpstreamID); err != nil {
		t.Fatal(err)
	}
	run(t, p)
	final := map[string]job.Job{}
	for deadline := time.Now().Add(10 * time.Second); len(final) < len(jobs); time.Sleep(20 * time.Millisecond) {
		for id := range jobs {
			j, err := s.Job(context.Background(), u.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Status.Final() {
				final[id] = j
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("final after 10 s: %v of %d jobs", final, len(jobs))
		}
	}

	for _, tc := range []struct {
		name, id string
		status   job.Status
		error    string
	}{
		{"Completed", "done", job.StatusCompleted, ""},
		{"Failed", "failed", job.StatusFailed, "failed: the recogniser gave up on this audio"},
		{"GoneUpstream", "gone", job.StatusFailed, job.FailureGone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := final[tc.id]
			if j.Status != tc.status || j.CompletedVia != job.ViaPoll {
				t.Fatalf("%s via %q, want %s via poll", j.Status, j.CompletedVia, tc.status)
			}
			if !strings.Contains(j.Error, tc.error) || (tc.error == "") != (j.Error == "") {
				t.Errorf("error %q, want it to contain %q", j.Error, tc.error)
			}
			if j.Polls == 0 {
				t.Error("no poll counted")
			}
		})
	}
	t.Run("ResultFetched", func(t *testing.T) {
		up, _ := fake.JobByKey("done")
		r, err := s.Result(context.Background(), "done")
		if err != nil || r.Text != up.Result.Text {
			t.Fatalf("result %+v, %v; want the upstream's %q", r, err, up.Result.Text)
		}
	})
	t.Run("FailingPollsRetried", func(t *testing.T) {
		var answers []string
		for _, poll := range fake.Polls() {
			if poll.UpstreamID == jobs["done"].UpstreamID {
				answers = append(answers, fmt.Sprint(poll.Status))
			}
		}
		if len(answers) < 3 || answers[0] != "500" || answers[1] != "500" {
			t.Errorf("polls of the done job answered %v; want two 500s, then more polls", answers)
		}
	})
}

// TestUnavailableHoldsPolls: a 503 with Retry-After stops every poll until
// it has passed, as a 429 does.
func TestUnavailableHoldsPolls(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var at []time.Time
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"error":{"code":"unavailable","message":"down for a moment"}}`)
	}))
	defer upstream.Close()
	s := storetest.Open(t)
	u := storetest.User(t, s, "ada@example.com")
	storetest.SubmittedJob(t, s, u, "a", "tr_a")
	storetest.SubmittedJob(t, s, u, "b", "tr_b")
	log := slog.New(slog.DiscardHandler)
	c := deepscript.New(upstream.URL, "key", nil)
	m := metrics.New()
	p := backstop.New(s, c, relay.New(s, c, m, log), m, log, 50*time.Millisecond, 0)
	p.Concurrency = 1 // one poll at a time, so the second is sent after the 503

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // room for a loaded machine
	defer cancel()
	p.Run(ctx)
	mu.Lock()
	defer mu.Unlock()
	if len(at) < 2 {
		t.Fatalf("%d polls in 3 s; want them to resume after Retry-After", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < 950*time.Millisecond {
		t.Fatalf("next poll %v after a 503 with Retry-After: 1; want at least 1 s", gap)
	}
}
