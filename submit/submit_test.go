package submit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"scribe/deepscript/deepscripttest"
	"scribe/job"
	"scribe/metrics"
	"scribe/relay"
	"scribe/store"
	"scribe/store/storetest"
)

// fixture is a Submitter on a real SQLite store sending to a fake
// upstream, and one user of the app.
type fixture struct {
	fake  *deepscripttest.Server
	store *store.Store
	user  store.User
	sub   *Submitter
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fake := deepscripttest.NewServer(t)
	db := storetest.Open(t)
	log := slog.New(slog.DiscardHandler)
	c := fake.Client()
	m := metrics.New()
	// Nothing listens there: a delivery is refused at once.
	s := New(db, c, relay.New(db, c, m, log), m, log, "http://127.0.0.1:1/webhooks/deepscript")
	s.Backoff = func(int) time.Duration { return 10 * time.Millisecond }
	return &fixture{fake: fake, store: db, user: storetest.User(t, db, "ada@example.com"), sub: s}
}

// register registers the webhook endpoint, as Run does before it submits.
func (f *fixture) register(t *testing.T) {
	t.Helper()
	if err := EnsureWebhook(context.Background(), f.store, f.sub.client, f.sub.WebhookURL); err != nil {
		t.Fatal(err)
	}
	f.sub.registered = true
}

func (f *fixture) job(t *testing.T, id string) job.Job {
	t.Helper()
	j, err := f.store.Job(context.Background(), f.user.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestDeletedDuringUpload deletes a job while its upload is in flight: the
// transcription the upstream created for it must be deleted as well.
func TestDeletedDuringUpload(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.register(t)
	j := storetest.QueuedJob(t, f.store, f.user, "j_1")
	f.fake.OnCreate = func(deepscripttest.Job) {
		if _, err := f.store.DeleteJob(ctx, f.user.ID, j.ID); err != nil {
			t.Error(err)
		}
	}
	f.sub.submit(ctx, j)
	up, ok := f.fake.JobByKey(j.SubmitKey())
	if !ok || !up.Deleted {
		t.Fatalf("upstream job %+v (found %v); want it deleted", up, ok)
	}
}

// TestReplayedCreateAlreadyDone: the answer to a create is lost, the job
// finishes upstream, and the create replayed with the same Idempotency-Key
// answers with the finished job: the job takes that state at once,
// transcript included.
func TestReplayedCreateAlreadyDone(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.fake.Plan = func(string) deepscripttest.Plan {
		return deepscripttest.Plan{SubmitFailures: []deepscripttest.SubmitFault{deepscripttest.SubmitLostAnswer},
			Webhook: deepscripttest.WebhookDrop}
	}
	f.register(t)
	j := storetest.QueuedJob(t, f.store, f.user, "j_1")
	f.sub.submit(ctx, j)
	if got := f.job(t, j.ID); got.UpstreamID != "" || got.SubmitTries != 1 {
		t.Fatalf("after a lost answer: upstream id %q, %d tries; want none and 1", got.UpstreamID, got.SubmitTries)
	}
	var up deepscripttest.Job
	for deadline := time.Now().Add(5 * time.Second); !up.Status.Final(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("upstream job not final within 5 s: %+v", up)
		}
		up, _ = f.fake.JobByKey(j.SubmitKey())
	}
	f.sub.submit(ctx, j)
	got := f.job(t, j.ID)
	if got.Status != job.StatusCompleted || got.CompletedVia != job.ViaSubmit || got.UpstreamID != up.ID {
		t.Fatalf("job after a replayed create: %s via %q, upstream %q; want completed via submit, %s", got.Status, got.CompletedVia, got.UpstreamID, up.ID)
	}
	if r, err := f.store.Result(ctx, j.ID); err != nil || r.Text != up.Result.Text {
		t.Fatalf("result = %+v, %v; want %q", r, err, up.Result.Text)
	}
	if created, attempts := f.fake.Creates(j.SubmitKey()); created != 1 || attempts != 2 {
		t.Errorf("%d upstream jobs in %d attempts, want 1 in 2", created, attempts)
	}
}

// TestRefusals runs the submitter against submits the upstream refuses for
// good (402, 415) or for a while (503, 500).
func TestRefusals(t *testing.T) {
	f := newFixture(t)
	plans := map[string]deepscripttest.Plan{
		"balance.wav":  {SubmitRefusal: 402},
		"notaudio.wav": {SubmitRefusal: 415},
		"flaky.wav":    {Hold: true, SubmitFailures: []deepscripttest.SubmitFault{deepscripttest.Submit503, deepscripttest.Submit500}},
	}
	f.fake.Plan = func(name string) deepscripttest.Plan { return plans[name] }
	for _, id := range []string{"balance", "notaudio", "flaky"} {
		storetest.QueuedJob(t, f.store, f.user, id)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.sub.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v", err)
		}
	}()
	settled := func(j job.Job) bool { return j.Status.Final() || j.UpstreamID != "" }
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var waiting []string
		for _, id := range []string{"balance", "notaudio", "flaky"} {
			if j := f.job(t, id); !settled(j) {
				waiting = append(waiting, fmt.Sprintf("%s (%d tries)", id, j.SubmitTries))
			}
		}
		if len(waiting) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not submitted or refused within 10 s: %v", waiting)
		}
	}

	for _, tc := range []struct {
		name, id, mention string
		status            job.Status
		created, attempts int
	}{
		{"InsufficientBalance", "balance", "balance", job.StatusFailed, 0, 1},
		{"UnsupportedMedia", "notaudio", "audio", job.StatusFailed, 0, 1},
		{"UnavailableThenOK", "flaky", "", job.StatusQueued, 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := f.job(t, tc.id)
			if got, want := j.Status, tc.status; got != want {
				t.Fatalf("status %s (error %q), want %s", got, j.Error, want)
			}
			if !strings.Contains(strings.ToLower(j.Error), tc.mention) {
				t.Errorf("error %q does not mention %q", j.Error, tc.mention)
			}
			created, attempts := f.fake.Creates(j.SubmitKey())
			if got, want := created, tc.created; got != want {
				t.Errorf("%d upstream jobs created, want %d", got, want)
			}
			if got, want := attempts, tc.attempts; got != want {
				t.Errorf("%d submit attempts, want %d", got, want)
			}
		})
	}
	t.Run("RetryAfterHonoured", func(t *testing.T) {
		// The 503 said Retry-After: 1; the backoff alone is 10 ms.
		j := f.job(t, "flaky")
		if took := j.SubmittedAt.Sub(j.CreatedAt); took < time.Second {
			t.Errorf("submitted %v after upload, want at least the 1 s the upstream asked for", took)
		}
	})
}
