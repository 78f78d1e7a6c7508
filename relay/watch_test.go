package relay_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
	"scribe/job"
	"scribe/store"
	"scribe/store/storetest"
)

// active makes n jobs of u's that are submitted and active upstream, named
// prefix-0, prefix-1…, their files prefix-k.wav.
func (f *fixture) active(t *testing.T, u store.User, prefix string, n int) []job.Job {
	t.Helper()
	var jobs []job.Job
	for k := range n {
		id := fmt.Sprintf("%s-%d", prefix, k)
		tr := f.fake.Create(t, id+".wav", id)
		jobs = append(jobs, storetest.SubmittedJob(t, f.store, u, id, tr.ID))
	}
	return jobs
}

// streamed reports which of jobs the upstream has served a stream.
func (f *fixture) streamed(jobs []job.Job) (n int) {
	for _, j := range jobs {
		if up, _ := f.fake.JobByKey(j.ID); up.SSEConns > 0 {
			n++
		}
	}
	return n
}

// TestStreamCap checks that however many jobs are active, no more than
// MaxStreams upstream streams are ever open, that /metrics shows how many
// are, and that the jobs beyond the cap still reach their end as streams
// free up.
func TestStreamCap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fake.Plan = func(string) deepscripttest.Plan { return deepscripttest.Plan{Hold: true} }
	f.relay.MaxStreams = 5
	f.relay.ResultGrace = 50 * time.Millisecond
	jobs := f.active(t, f.user, "j", 40)
	f.run(t)

	eventually(t, 10*time.Second, "the cap's streams open", func() (bool, string) {
		open, _ := f.fake.Streams()
		return open == 5 && f.metric(t, "scribe_upstream_streams") == 5,
			fmt.Sprintf("%d open upstream, metric %v", open, f.metric(t, "scribe_upstream_streams"))
	})
	time.Sleep(500 * time.Millisecond) // room for a stream too many
	if open, most := f.fake.Streams(); open != 5 || most != 5 {
		t.Fatalf("%d streams open, at most %d; want 5 and 5", open, most)
	}

	var names []string
	for _, j := range jobs {
		names = append(names, j.Filename)
	}
	f.fake.Release(names...)
	eventually(t, 30*time.Second, "every job completed", func() (bool, string) {
		done := 0
		for _, j := range jobs {
			if f.job(t, j.ID).Status == job.StatusCompleted {
				done++
			}
		}
		return done == len(jobs), fmt.Sprintf("%d of %d completed", done, len(jobs))
	})
	if _, most := f.fake.Streams(); most > 5 {
		t.Errorf("at most %d streams were open at once, want 5", most)
	}
	eventually(t, 5*time.Second, "no stream left", func() (bool, string) {
		n := f.metric(t, "scribe_upstream_streams")
		return n == 0, fmt.Sprintf("metric %v", n)
	})
}

// TestWatchedFirst checks that the jobs of users with a browser open get
// upstream streams before other jobs, taking them from unwatched jobs
// when all are in use.
func TestWatchedFirst(t *testing.T) {
	t.Parallel()
	t.Run("AtStart", func(t *testing.T) {
		f := newFixture(t)
		f.fake.Plan = func(string) deepscripttest.Plan { return deepscripttest.Plan{Hold: true} }
		f.relay.MaxStreams = 3
		bob := storetest.User(t, f.store, "bob@example.com")
		unwatched := f.active(t, f.user, "ada", 10)
		watched := f.active(t, bob, "bob", 3)
		sub, err := f.relay.Subscribe(bob.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		f.run(t)
		eventually(t, 5*time.Second, "bob's jobs streamed", func() (bool, string) {
			return f.streamed(watched) == 3, fmt.Sprintf("%d of bob's 3 jobs streamed", f.streamed(watched))
		})
		time.Sleep(300 * time.Millisecond)
		if n := f.streamed(unwatched); n != 0 {
			t.Errorf("%d of the unwatched jobs got a stream while the cap was taken by watched ones", n)
		}
	})
	t.Run("TakesFromUnwatched", func(t *testing.T) {
		f := newFixture(t)
		f.fake.Plan = func(string) deepscripttest.Plan { return deepscripttest.Plan{Hold: true} }
		f.relay.MaxStreams = 3
		bob := storetest.User(t, f.store, "bob@example.com")
		f.active(t, f.user, "ada", 10)
		f.run(t)
		eventually(t, 5*time.Second, "the cap taken", func() (bool, string) {
			open, _ := f.fake.Streams()
			return open == 3, fmt.Sprintf("%d open", open)
		})
		sub, err := f.relay.Subscribe(bob.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		var watched []job.Job
		for k := range 2 {
			j := storetest.QueuedJob(t, f.store, bob, fmt.Sprintf("bob-%d", k))
			if err := f.relay.Submitted(context.Background(), j.ID, f.fake.Create(t, j.Filename, j.ID)); err != nil {
				t.Fatal(err)
			}
			watched = append(watched, j)
		}
		eventually(t, 5*time.Second, "bob's new jobs streamed", func() (bool, string) {
			return f.streamed(watched) == 2, fmt.Sprintf("%d of bob's 2 jobs streamed", f.streamed(watched))
		})
		if n := f.metric(t, "scribe_upstream_streams"); n > 3 {
			t.Errorf("%v streams open, want at most 3", n)
		}
	})
}

// TestStreamPacing checks that streams opened together, and reconnecting
// together after the upstream cut them all, are spread out by the
// client's rate and jitter instead of arriving in one burst.
func TestStreamPacing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fake.Plan = func(string) deepscripttest.Plan {
		return deepscripttest.Plan{Duration: 4 * time.Second, SSE: deepscripttest.SSECutOnce}
	}
	f.relay.MaxStreams = 0
	f.active(t, f.user, "j", 30)
	f.run(t)
	// Each stream is answered twice: first, then after the cut.
	var opens []time.Time
	eventually(t, 15*time.Second, "every stream opened and reopened", func() (bool, string) {
		opens = f.fake.StreamOpens()
		return len(opens) >= 60, fmt.Sprintf("%d opens", len(opens))
	})
	slices.SortFunc(opens, func(a, b time.Time) int { return a.Compare(b) })
	// 20 a second with a burst of 5 (deepscript's defaults): 60 opens
	// take at least (60-5)/20 s.
	if span := opens[len(opens)-1].Sub(opens[0]); span < 2500*time.Millisecond {
		t.Errorf("60 stream opens within %v; want them spread over 2.5 s or more", span)
	}
	for i := range opens {
		in := 0
		for k := i; k < len(opens) && opens[k].Sub(opens[i]) < 100*time.Millisecond; k++ {
			in++
		}
		// Tokens granted over 350 ms (a burst of 5 and 7 at 20/s) may land
		// in one 100 ms window after their 0–250 ms jitter: at most 12.
		if in > 12 {
			t.Fatalf("%d stream opens within 100 ms of %v; want at most 12", in, opens[i])
		}
	}
	var gaps []time.Duration
	for i := 1; i < len(opens); i++ {
		gaps = append(gaps, opens[i].Sub(opens[i-1]))
	}
	if spread := slices.Max(gaps) - slices.Min(gaps); spread < 30*time.Millisecond {
		t.Errorf("gaps between opens all within %v of each other; want jitter", spread)
	}
}

// TestResultGrace checks that a completion seen on the stream waits for
// the webhook that carries the result instead of fetching it, and fetches
// it only when no webhook came within the grace.
func TestResultGrace(t *testing.T) {
	t.Parallel()
	t.Run("WebhookInTime", func(t *testing.T) {
		f := newFixture(t)
		f.relay.ResultGrace = 2 * time.Second
		f.run(t)
		j, _ := f.submit(t, "j_1")
		up := f.upstreamDone(t, j.SubmitKey())
		time.Sleep(300 * time.Millisecond) // the stream has brought the completion
		if got := f.job(t, j.ID).Status; got.Final() {
			t.Fatalf("job %s before the webhook; want the stream's completion held back", got)
		}
		ev := deepscript.WebhookEvent{Event: deepscript.EventCompleted, ID: up.ID, CreatedAt: time.Now().UTC(), Result: up.Result}
		if err := f.relay.ApplyWebhook(context.Background(), "msg_1", ev); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond) // past the grace
		got := f.job(t, j.ID)
		if got.Status != job.StatusCompleted || got.CompletedVia != job.ViaWebhook {
			t.Errorf("job %s via %q, want completed via webhook", got.Status, got.CompletedVia)
		}
		if up, _ := f.fake.JobByKey(j.SubmitKey()); up.Fetches != 0 {
			t.Errorf("the result was fetched %d times, want 0: the webhook brought it", up.Fetches)
		}
	})
	t.Run("NoWebhook", func(t *testing.T) {
		f := newFixture(t)
		f.relay.ResultGrace = 300 * time.Millisecond
		f.run(t)
		j, _ := f.submit(t, "j_1")
		eventually(t, 5*time.Second, "the job completed", func() (bool, string) {
			got := f.job(t, j.ID)
			return got.Status == job.StatusCompleted, string(got.Status)
		})
		if got := f.job(t, j.ID); got.CompletedVia != job.ViaSSE {
			t.Errorf("completed via %q, want sse", got.CompletedVia)
		}
		if up, _ := f.fake.JobByKey(j.SubmitKey()); up.Fetches != 1 {
			t.Errorf("the result was fetched %d times, want 1", up.Fetches)
		}
	})
}
