package relay_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
	"scribe/job"
	"scribe/metrics"
	"scribe/relay"
	"scribe/store"
	"scribe/store/storetest"
)

// fixture is a relay on a real SQLite store, talking to a fake upstream
// over HTTP, and one user of the app.
type fixture struct {
	fake    *deepscripttest.Server
	store   *store.Store
	relay   *relay.Relay
	metrics *metrics.Metrics
	user    store.User
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fake := deepscripttest.NewServer(t)
	s := storetest.Open(t)
	m := metrics.New()
	f := &fixture{fake: fake, store: s, metrics: m, user: storetest.User(t, s, "ada@example.com"),
		relay: relay.New(s, fake.Client(), m, slog.New(slog.DiscardHandler))}
	f.relay.ResultGrace = 200 * time.Millisecond // no webhooks here: do not wait long for them
	return f
}

// run starts the relay's Run; it is stopped, and must return, when the
// test ends.
func (f *fixture) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.relay.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10 s of its context ending")
		}
	})
}

// submit makes a queued job, creates it upstream under its submit key, and
// records the upstream's answer through Submitted.
func (f *fixture) submit(t *testing.T, id string) (job.Job, deepscript.Transcription) {
	t.Helper()
	j := storetest.QueuedJob(t, f.store, f.user, id)
	tr := f.fake.Create(t, j.Filename, j.SubmitKey())
	if err := f.relay.Submitted(context.Background(), j.ID, tr); err != nil {
		t.Fatal(err)
	}
	return f.job(t, j.ID), tr
}

// job is the stored state of one of the user's jobs.
func (f *fixture) job(t *testing.T, id string) job.Job {
	t.Helper()
	j, err := f.store.Job(context.Background(), f.user.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// upstreamDone waits until the fake has finished the job created under key.
func (f *fixture) upstreamDone(t *testing.T, key string) deepscripttest.Job {
	t.Helper()
	var up deepscripttest.Job
	eventually(t, 5*time.Second, "the upstream job final", func() (bool, string) {
		up, _ = f.fake.JobByKey(key)
		return up.Status.Final(), fmt.Sprintf("%+v", up)
	})
	return up
}

// metric reads one sample from the app's /metrics; 0 when absent.
func (f *fixture) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	f.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		series, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && strings.Contains(series, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
		}
		if match {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", series, err)
			}
			return v
		}
	}
	return 0
}

// next is the next change sub receives.
func next(t *testing.T, sub *relay.Subscription) *relay.Change {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		changed := sub.Changed()
		c, err := sub.Next()
		if err != nil {
			t.Fatalf("subscription ended: %v", err)
		}
		if c != nil {
			return c
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatal("no change published within 5 s")
		}
	}
}

// none checks that nothing was published to sub.
func none(t *testing.T, sub *relay.Subscription) {
	t.Helper()
	if c, err := sub.Next(); c != nil || err != nil {
		t.Fatalf("published %+v (%v), want nothing", c, err)
	}
}

// eventually calls check until it reports true, failing with what it last
// saw after within.
func eventually(t *testing.T, within time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, saw := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last saw %s", what, within, saw)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("ForwardOnly", func(t *testing.T) {
		f := newFixture(t)
		j := storetest.SubmittedJob(t, f.store, f.user, "j_1", "tr_1")
		sub, _ := f.relay.Subscribe(f.user.ID, 0)
		defer sub.Close()
		result := &job.Result{Text: "hello"}
		for _, st := range []struct {
			name         string
			update       job.Update
			wantChanged  bool
			wantStatus   job.Status
			wantProgress float64
		}{
			{"Progress", job.Update{Status: job.StatusProcessing, Progress: 0.5, Via: job.ViaSSE}, true, job.StatusProcessing, 0.5},
			{"ProgressBackwards", job.Update{Status: job.StatusProcessing, Progress: 0.2, Via: job.ViaSSE}, false, job.StatusProcessing, 0.5},
			{"StatusBackwards", job.Update{Status: job.StatusQueued, Via: job.ViaPoll}, false, job.StatusProcessing, 0.5},
			{"Completed", job.Update{Status: job.StatusCompleted, Result: result, Via: job.ViaWebhook}, true, job.StatusCompleted, 1},
			{"FailedAfterCompleted", job.Update{Status: job.StatusFailed, Error: "x", Via: job.ViaPoll}, false, job.StatusCompleted, 1},
			{"CompletedAgain", job.Update{Status: job.StatusCompleted, Result: result, Via: job.ViaSSE}, false, job.StatusCompleted, 1},
		} {
			t.Run(st.name, func(t *testing.T) {
				st.update.UpstreamID = "tr_1"
				changed, err := f.relay.Apply(ctx, st.update)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := changed, st.wantChanged; got != want {
					t.Fatalf("changed %v, want %v", got, want)
				}
				stored := f.job(t, j.ID)
				if stored.Status != st.wantStatus || stored.Progress != st.wantProgress {
					t.Fatalf("stored %s %.2f, want %s %.2f", stored.Status, stored.Progress, st.wantStatus, st.wantProgress)
				}
				if !changed {
					none(t, sub)
					return
				}
				// Published after the commit: what a subscriber is told is
				// what a read of the store already returns.
				c := next(t, sub)
				if c.Deleted || c.Job.Seq != stored.Seq || c.Job.Status != stored.Status || c.Job.Progress != stored.Progress {
					t.Fatalf("published %+v, stored %+v", c, stored)
				}
			})
		}
		if got, want := f.metric(t, "scribe_jobs_finished_total", "via", "webhook", "status", "completed"), 1.0; got != want {
			t.Errorf("jobs finished via webhook: %v, want %v", got, want)
		}
		if got, want := f.metric(t, "scribe_jobs_finished_total", "via", "sse", "status", "completed"), 0.0; got != want {
			t.Errorf("jobs finished via sse: %v, want %v (a repeat is not counted)", got, want)
		}
	})
	t.Run("FetchesMissingResult", func(t *testing.T) {
		f := newFixture(t)
		tr := f.fake.Create(t, "a.wav", "j_1")
		storetest.SubmittedJob(t, f.store, f.user, "j_1", tr.ID)
		up := f.upstreamDone(t, "j_1")
		changed, err := f.relay.Apply(ctx, job.Update{UpstreamID: tr.ID, Status: job.StatusCompleted, Via: job.ViaPoll})
		if err != nil || !changed {
			t.Fatalf("changed %v, %v", changed, err)
		}
		r, err := f.store.Result(ctx, "j_1")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := r.Text, up.Result.Text; got != want {
			t.Errorf("result %q, want the upstream's %q", got, want)
		}
	})
	t.Run("UpstreamNotDone", func(t *testing.T) {
		f := newFixture(t)
		f.fake.Plan = func(string) deepscripttest.Plan { return deepscripttest.Plan{Hold: true} }
		tr := f.fake.Create(t, "a.wav", "key")
		j := storetest.SubmittedJob(t, f.store, f.user, "j_1", tr.ID)
		if _, err := f.relay.Apply(ctx, job.Update{UpstreamID: tr.ID, Status: job.StatusCompleted, Via: job.ViaWebhook}); err == nil {
			t.Fatal("a completion the upstream does not confirm was applied")
		}
		if got, want := f.job(t, j.ID).Status, job.StatusQueued; got != want {
			t.Errorf("status %s, want %s", got, want)
		}
	})
	t.Run("AlreadyFinal", func(t *testing.T) {
		// The upstream does not know tr_gone: fetching its result would fail.
		f := newFixture(t)
		storetest.SubmittedJob(t, f.store, f.user, "j_1", "tr_gone")
		if _, err := f.relay.Apply(ctx, job.Update{UpstreamID: "tr_gone", Status: job.StatusFailed, Via: job.ViaPoll}); err != nil {
			t.Fatal(err)
		}
		changed, err := f.relay.Apply(ctx, job.Update{UpstreamID: "tr_gone", Status: job.StatusCompleted, Via: job.ViaWebhook})
		if changed || err != nil {
			t.Fatalf("changed %v, %v; want no change and no fetch", changed, err)
		}
	})
	t.Run("UnknownJob", func(t *testing.T) {
		f := newFixture(t)
		if _, err := f.relay.Apply(ctx, job.Update{UpstreamID: "tr_x", Status: job.StatusProcessing}); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("err %v, want job.ErrNotFound", err)
		}
	})
}

func TestApplyWebhook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	completed := func(upstreamID string) deepscript.WebhookEvent {
		return deepscript.WebhookEvent{Event: deepscript.EventCompleted, ID: upstreamID, CreatedAt: time.Now().UTC(),
			Result: deepscripttest.Result("hook", 2)}
	}
	t.Run("AppliedOnce", func(t *testing.T) {
		f := newFixture(t)
		j := storetest.SubmittedJob(t, f.store, f.user, "j_1", "tr_1")
		sub, _ := f.relay.Subscribe(f.user.ID, 0)
		defer sub.Close()
		if err := f.relay.ApplyWebhook(ctx, "msg_1", completed("tr_1")); err != nil {
			t.Fatal(err)
		}
		if c := next(t, sub); c.Job.Status != job.StatusCompleted || c.Job.CompletedVia != job.ViaWebhook {
			t.Fatalf("published %s via %q, want completed via webhook", c.Job.Status, c.Job.CompletedVia)
		}
		if r, err := f.store.Result(ctx, j.ID); err != nil || r.Text != completed("tr_1").Result.Text {
			t.Fatalf("result %+v, %v", r, err)
		}
		failed := deepscript.WebhookEvent{Event: deepscript.EventFailed, ID: "tr_1", CreatedAt: time.Now().UTC()}
		if err := f.relay.ApplyWebhook(ctx, "msg_1", failed); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("the same webhook-id again: %v, want store.ErrDuplicate", err)
		}
		none(t, sub)
	})
	t.Run("AdoptsJobAwaitingCreateAnswer", func(t *testing.T) {
		f := newFixture(t)
		j := storetest.QueuedJob(t, f.store, f.user, "j_1")
		tr := f.fake.Create(t, j.Filename, j.SubmitKey()) // its answer never reaches Submitted
		sub, _ := f.relay.Subscribe(f.user.ID, 0)
		defer sub.Close()
		if err := f.relay.ApplyWebhook(ctx, "msg_1", completed(tr.ID)); err != nil {
			t.Fatal(err)
		}
		got := f.job(t, j.ID)
		if got.UpstreamID != tr.ID || got.Status != job.StatusCompleted || got.CompletedVia != job.ViaWebhook {
			t.Fatalf("job: upstream %q, %s via %q; want %s, completed via webhook", got.UpstreamID, got.Status, got.CompletedVia, tr.ID)
		}
		if c := next(t, sub); c.Job.UpstreamID != tr.ID {
			t.Errorf("first change %+v, want the adoption", c.Job)
		}
		if c := next(t, sub); c.Job.Status != job.StatusCompleted {
			t.Errorf("second change %+v, want the completion", c.Job)
		}
	})
	t.Run("NotOurs", func(t *testing.T) {
		f := newFixture(t)
		// A job of ours whose current attempt is the second: the first
		// attempt's upstream job is not adopted.
		j := storetest.QueuedJob(t, f.store, f.user, "j_1")
		if _, err := f.store.FailUnsubmitted(ctx, j.ID, "x"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.RetryJob(ctx, f.user.ID, j.ID); err != nil {
			t.Fatal(err)
		}
		for name, upstreamID := range map[string]string{
			"EarlierAttempt": f.fake.Create(t, j.Filename, j.SubmitKey()).ID,
			"Stranger":       f.fake.Create(t, "theirs.wav", "someone-else").ID,
			"Unknown":        "tr_nobody",
			"NoID":           "",
		} {
			t.Run(name, func(t *testing.T) {
				if err := f.relay.ApplyWebhook(ctx, "msg_"+name, completed(upstreamID)); !errors.Is(err, job.ErrNotFound) {
					t.Fatalf("err %v, want job.ErrNotFound", err)
				}
			})
		}
		if got := f.job(t, j.ID); got.UpstreamID != "" {
			t.Errorf("job adopted %s", got.UpstreamID)
		}
	})
	t.Run("BalanceLow", func(t *testing.T) {
		f := newFixture(t)
		ev := deepscript.WebhookEvent{Event: deepscript.EventBalanceLow, CreatedAt: time.Now().UTC(),
			Balance: &deepscript.Balance{RemainingSeconds: 540, ThresholdSeconds: 600}}
		if err := f.relay.ApplyWebhook(ctx, "msg_1", ev); err != nil {
			t.Fatal(err)
		}
		if at, err := f.store.BalanceLowAt(ctx); err != nil || at.IsZero() {
			t.Fatalf("BalanceLowAt = %v, %v; want it recorded", at, err)
		}
		if err := f.relay.ApplyWebhook(ctx, "msg_1", ev); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("the same webhook-id again: %v, want store.ErrDuplicate", err)
		}
	})
	t.Run("OtherEventsIgnored", func(t *testing.T) {
		f := newFixture(t)
		storetest.SubmittedJob(t, f.store, f.user, "j_1", "tr_1")
		ev := deepscript.WebhookEvent{Event: deepscript.EventProgress, ID: "tr_1", CreatedAt: time.Now().UTC()}
		if err := f.relay.ApplyWebhook(ctx, "msg_1", ev); !errors.Is(err, relay.ErrIgnored) {
			t.Fatalf("err %v, want relay.ErrIgnored", err)
		}
	})
}

func TestCreateRetryDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	queued := func(t *testing.T, r *relay.Relay) {
		t.Helper()
		select {
		case <-r.Queued():
		default:
			t.Fatal("the submitter was not told a job is waiting")
		}
	}
	t.Run("Create", func(t *testing.T) {
		f := newFixture(t)
		sub, _ := f.relay.Subscribe(f.user.ID, 0)
		defer sub.Close()
		j, err := f.relay.Create(ctx, job.Job{ID: "j_1", UserID: f.user.ID, Filename: "a.wav", AudioPath: "/a.audio"})
		if err != nil {
			t.Fatal(err)
		}
		if c := next(t, sub); c.Job.ID != j.ID || c.Job.Status != job.StatusQueued || c.Job.Seq != j.Seq {
			t.Fatalf("published %+v, want the new job %+v", c.Job, j)
		}
		queued(t, f.relay)
	})
	t.Run("Retry", func(t *testing.T) {
		f := newFixture(t)
		j := storetest.SubmittedJob(t, f.store, f.user, "j_1", "tr_1")
		if _, err := f.relay.Retry(ctx, f.user.ID, j.ID); !errors.Is(err, job.ErrConflict) {
			t.Fatalf("retrying an unfinished job: %v, want job.ErrConflict", err)
		}
		if _, err := f.relay.Apply(ctx, job.Update{UpstreamID: "tr_1", Status: job.StatusFailed, Via: job.ViaPoll}); err != nil {
			t.Fatal(err)
		}
		sub, _ := f.relay.Subscribe(f.user.ID, 0)
		defer sub.Close()
		if _, err := f.relay.Retry(ctx, f.user.ID, j.ID); err != nil {
			t.Fatal(err)
		}
		c := next(t, sub)
		if c.Job.Status != job.StatusQueued || c.Job.Attempt != 1 || c.Job.UpstreamID != "" {
			t.Fatalf("published %+v, want a fresh attempt", c.Job)
		}
		queued(t, f.relay)
	})
	t.Run("Delete", func(t *testing.T) {
		f := newFixture(t)
		f.fake.Plan = func(string) deepscripttest.Plan { return deepscripttest.Plan{Hold: true} }
		f.run(t)
		j, _ := f.submit(t, "j_1")
		eventually(t, 5*time.Second, "the job's upstream stream followed", func() (bool, string) {
			n := f.metric(t, "scribe_upstream_streams")
			return n == 1, fmt.Sprintf("%v streams", n)
		})
		other := storetest.User(t, f.store, "grace@example.com")
		if _, err := f.relay.Delete(ctx, other.ID, j.ID); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("another user's delete: %v, want job.ErrNotFound", err)
		}
		sub, _ := f.relay.Subscribe(f.user.ID, 0)
		defer sub.Close()
		if _, err := f.relay.Delete(ctx, f.user.ID, j.ID); err != nil {
			t.Fatal(err)
		}
		if c := next(t, sub); !c.Deleted || c.Job.ID != j.ID || c.Job.Seq <= j.Seq {
			t.Fatalf("published %+v, want the deletion with a newer seq than %d", c, j.Seq)
		}
		if _, err := os.Stat(j.AudioPath); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("audio file after delete: %v, want it gone", err)
		}
		if up, _ := f.fake.JobByKey(j.SubmitKey()); !up.Deleted {
			t.Error("the upstream copy was not deleted")
		}
		eventually(t, 5*time.Second, "the deleted job's stream stopped", func() (bool, string) {
			n := f.metric(t, "scribe_upstream_streams")
			return n == 0, fmt.Sprintf("%v streams", n)
		})
	})
}

func TestSubmitted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("Queued", func(t *testing.T) {
		f := newFixture(t)
		f.fake.Plan = func(string) deepscripttest.Plan { return deepscripttest.Plan{Hold: true} }
		j := storetest.QueuedJob(t, f.store, f.user, "j_1")
		tr := f.fake.Create(t, j.Filename, j.SubmitKey())
		sub, _ := f.relay.Subscribe(f.user.ID, 0)
		defer sub.Close()
		if err := f.relay.Submitted(ctx, j.ID, tr); err != nil {
			t.Fatal(err)
		}
		got := f.job(t, j.ID)
		if got.UpstreamID != tr.ID || got.Status != job.StatusQueued || got.SubmittedAt.IsZero() {
			t.Fatalf("job %+v, want queued with upstream id %s", got, tr.ID)
		}
		if c := next(t, sub); c.Job.UpstreamID != tr.ID {
			t.Fatalf("published %+v, want the upstream id", c.Job)
		}
	})
	t.Run("AnswerAlreadyFinal", func(t *testing.T) {
		// A replayed create answers with the job it made before, which has
		// finished meanwhile; the answer carries no transcript.
		f := newFixture(t)
		j := storetest.QueuedJob(t, f.store, f.user, "j_1")
		f.fake.Create(t, j.Filename, j.SubmitKey())
		up := f.upstreamDone(t, j.SubmitKey())
		replayed := f.fake.Create(t, j.Filename, j.SubmitKey())
		if replayed.Status != deepscript.StatusCompleted || replayed.Result != nil {
			t.Fatalf("replayed create answered %s with result %v; the test needs a completed answer without one", replayed.Status, replayed.Result)
		}
		if err := f.relay.Submitted(ctx, j.ID, replayed); err != nil {
			t.Fatal(err)
		}
		got := f.job(t, j.ID)
		if got.Status != job.StatusCompleted || got.CompletedVia != job.ViaSubmit {
			t.Fatalf("job %s via %q, want completed via submit", got.Status, got.CompletedVia)
		}
		if r, err := f.store.Result(ctx, j.ID); err != nil || r.Text != up.Result.Text {
			t.Fatalf("result %+v, %v; want the upstream's %q", r, err, up.Result.Text)
		}
	})
	t.Run("DeletedMeanwhile", func(t *testing.T) {
		f := newFixture(t)
		f.fake.Plan = func(string) deepscripttest.Plan { return deepscripttest.Plan{Hold: true} }
		j := storetest.QueuedJob(t, f.store, f.user, "j_1")
		tr := f.fake.Create(t, j.Filename, j.SubmitKey())
		if _, err := f.store.DeleteJob(ctx, f.user.ID, j.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.relay.Submitted(ctx, j.ID, tr); err != nil {
			t.Fatal(err)
		}
		if up, _ := f.fake.JobByKey(j.SubmitKey()); !up.Deleted {
			t.Error("the upstream job of a job deleted during its upload was not deleted")
		}
	})
}

// TestWatch checks that a submitted job's upstream events reach its
// owner's subscribers and that the watcher stops once the job is final.
func TestWatch(t *testing.T) {
	t.Parallel()
	// follow collects the changes of one job until it is final.
	follow := func(t *testing.T, sub *relay.Subscription, id string) []job.Job {
		t.Helper()
		var seen []job.Job
		for {
			c := next(t, sub)
			if c.Job.ID != id {
				continue
			}
			seen = append(seen, c.Job)
			if c.Job.Status.Final() {
				return seen
			}
		}
	}
	// check asserts the changes moved forward, through some progress, to
	// a completion first learnt from the stream.
	check := func(t *testing.T, f *fixture, seen []job.Job) {
		t.Helper()
		between := 0
		for i, j := range seen {
			if i > 0 && (j.Status.Rank() < seen[i-1].Status.Rank() || j.Progress < seen[i-1].Progress || j.Seq <= seen[i-1].Seq) {
				t.Errorf("change %d moved back: %+v after %+v", i, j, seen[i-1])
			}
			if j.Progress > 0 && j.Progress < 1 {
				between++
			}
		}
		last := seen[len(seen)-1]
		if last.Status != job.StatusCompleted || last.CompletedVia != job.ViaSSE {
			t.Fatalf("ended %s via %q, want completed via sse", last.Status, last.CompletedVia)
		}
		if between == 0 {
			t.Errorf("no progress between 0 and 1 reached the subscriber: %+v", seen)
		}
		eventually(t, 5*time.Second, "the watcher stopped", func() (bool, string) {
			n := f.metric(t, "scribe_upstream_streams")
			return n == 0, fmt.Sprintf("%v upstream streams", n)
		})
		if up, _ := f.fake.JobByKey(last.SubmitKey()); up.SSEConns != 1 {
			t.Errorf("the upstream served %d event streams, want 1", up.SSEConns)
		}
	}
	t.Run("Submitted", func(t *testing.T) {
		f := newFixture(t)
		f.fake.Plan = func(string) deepscripttest.Plan { return deepscripttest.Plan{Duration: time.Second} }
		f.run(t)
		sub, _ := f.relay.Subscribe(f.user.ID, 0)
		defer sub.Close()
		j, _ := f.submit(t, "j_1")
		check(t, f, follow(t, sub, j.ID))
	})
	t.Run("ActiveAtStart", func(t *testing.T) {
		f := newFixture(t)
		f.fake.Plan = func(string) deepscripttest.Plan { return deepscripttest.Plan{Duration: time.Second} }
		tr := f.fake.Create(t, "a.wav", "j_1")
		storetest.SubmittedJob(t, f.store, f.user, "j_1", tr.ID)
		sub, _ := f.relay.Subscribe(f.user.ID, 0)
		defer sub.Close()
		f.run(t)
		check(t, f, follow(t, sub, "j_1"))
	})
}
