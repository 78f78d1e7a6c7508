package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"scribe/job"
	"scribe/sqldb"
	"scribe/store"
	"scribe/store/storetest"
)

// twoReplicas opens two stores on one database, as two replicas would.
func twoReplicas(t *testing.T, d sqldb.Dialect) (*store.Store, *store.Store) {
	t.Helper()
	o := storetest.OptionsOn(t, d)
	var out [2]*store.Store
	for i := range out {
		s, err := store.Open(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out[0], out[1]
}

// eachPair runs test on two replicas of each kind of database.
func eachPair(t *testing.T, test func(t *testing.T, a, b *store.Store)) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			a, b := twoReplicas(t, d)
			test(t, a, b)
		})
	}
}

// TestSessionKeysFirstWins: the first replica's keys are everyone's.
func TestSessionKeysFirstWins(t *testing.T) {
	ctx := context.Background()
	eachPair(t, func(t *testing.T, a, b *store.Store) {
		got, err := a.SessionKeys(ctx, "keys of a")
		if err != nil {
			t.Fatal(err)
		}
		if want := "keys of a"; got != want {
			t.Fatalf("first replica got %q, want its own %q", got, want)
		}
		if got, err = b.SessionKeys(ctx, "keys of b"); err != nil {
			t.Fatal(err)
		}
		if want := "keys of a"; got != want {
			t.Fatalf("second replica got %q, want the first's %q", got, want)
		}
	})
}

// TestWebhookEndpointReload: a replica's copy of the endpoint is replaced
// by what another replica registered once it reloads.
func TestWebhookEndpointReload(t *testing.T) {
	ctx := context.Background()
	eachPair(t, func(t *testing.T, a, b *store.Store) {
		if err := a.SetWebhookEndpoint(ctx, store.WebhookEndpoint{ID: "ep_1", URL: "http://x/webhooks", Secret: "whsec_old"}); err != nil {
			t.Fatal(err)
		}
		if e, err := a.WebhookEndpoint(ctx); err != nil || e.Secret != "whsec_old" {
			t.Fatalf("endpoint %+v, %v; want the one just set", e, err)
		}
		if err := b.SetWebhookEndpoint(ctx, store.WebhookEndpoint{ID: "ep_2", URL: "http://x/webhooks", Secret: "whsec_new"}); err != nil {
			t.Fatal(err)
		}
		e, err := a.ReloadWebhookEndpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e, (store.WebhookEndpoint{ID: "ep_2", URL: "http://x/webhooks", Secret: "whsec_new"}); got != want {
			t.Fatalf("reloaded %+v, want %+v", got, want)
		}
		if e, _ := a.WebhookEndpoint(ctx); e.Secret != "whsec_new" {
			t.Errorf("after the reload the kept copy is %+v", e)
		}
	})
}

// TestClaimsAcrossReplicas: a submission or a delivery claimed by one
// replica is not due for another until its lease runs out, and the
// claiming replica releases its own at once when it restarts.
func TestClaimsAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	eachPair(t, func(t *testing.T, a, b *store.Store) {
		a.Replica, b.Replica = "host:/a", "host:/b"
		now := time.Now().UTC()
		for _, s := range []*store.Store{a, b} {
			s.Now = func() time.Time { return now }
		}
		u := storetest.User(t, a, "ada@example.com")
		storetest.QueuedJob(t, a, u, "j_1")
		lease := func(job.Job) time.Duration { return time.Minute }

		t.Run("Submission", func(t *testing.T) {
			got, err := a.ClaimDueSubmissions(ctx, 10, lease)
			if err != nil || len(got) != 1 {
				t.Fatalf("replica a claimed %d (%v), want the one queued job", len(got), err)
			}
			if got, err := b.ClaimDueSubmissions(ctx, 10, lease); err != nil || len(got) != 0 {
				t.Fatalf("replica b claimed %d (%v) while a holds it, want 0", len(got), err)
			}
			if err := b.ReleaseSubmissions(ctx); err != nil {
				t.Fatal(err)
			}
			if got, _ := b.ClaimDueSubmissions(ctx, 10, lease); len(got) != 0 {
				t.Fatalf("replica b released a's claim")
			}
			if err := a.ReleaseSubmissions(ctx); err != nil {
				t.Fatal(err)
			}
			if got, _ := b.ClaimDueSubmissions(ctx, 10, lease); len(got) != 1 {
				t.Fatalf("after a restarted, b claimed %d, want the job", len(got))
			}
			now = now.Add(2 * time.Minute)
			if got, _ := a.ClaimDueSubmissions(ctx, 10, lease); len(got) != 1 {
				t.Fatalf("after b's lease ran out, a claimed %d, want the job", len(got))
			}
		})

		t.Run("Delivery", func(t *testing.T) {
			if _, err := a.CreateHookEndpoint(ctx, store.HookEndpoint{UserID: u.ID, URL: "https://x.example", Secret: "whsec_eA==",
				Events: []job.Event{job.EventCompleted}}); err != nil {
				t.Fatal(err)
			}
			eps, err := a.HookEndpoints(ctx, u.ID)
			if err != nil || len(eps) != 1 {
				t.Fatalf("endpoints %v, %v", eps, err)
			}
			if err := a.EnqueueTestEvent(ctx, u.ID, eps[0].ID); err != nil {
				t.Fatal(err)
			}
			all := func(store.HookDelivery) bool { return true }
			if got, err := a.ClaimHookDeliveries(ctx, 10, time.Minute, all); err != nil || len(got) != 1 {
				t.Fatalf("replica a claimed %d (%v), want the test event", len(got), err)
			}
			if got, err := b.ClaimHookDeliveries(ctx, 10, time.Minute, all); err != nil || len(got) != 0 {
				t.Fatalf("replica b claimed %d (%v) while a sends it, want 0", len(got), err)
			}
			if err := b.ReleaseHookDeliveries(ctx); err != nil {
				t.Fatal(err)
			}
			if got, _ := b.ClaimHookDeliveries(ctx, 10, time.Minute, all); len(got) != 0 {
				t.Fatalf("replica b released a's claim")
			}
			now = now.Add(2 * time.Minute)
			got, err := b.ClaimHookDeliveries(ctx, 10, time.Minute, all)
			if err != nil || len(got) != 1 {
				t.Fatalf("after a's lease ran out, b claimed %d (%v), want the event", len(got), err)
			}
			if err := b.RecordHookAttempt(ctx, got[0].ID, store.HookAttempt{At: now, Status: 200, State: store.DeliveryDelivered}); err != nil {
				t.Fatal(err)
			}
			now = now.Add(time.Hour)
			if got, _ := a.ClaimHookDeliveries(ctx, 10, time.Minute, all); len(got) != 0 {
				t.Fatalf("a delivered event was claimed again")
			}
		})
	})
}

// TestJobChangesNotified: on PostgreSQL, a replica following job changes
// is told of another's, in commit order, deletions included, and only
// after the commit.
func TestJobChangesNotified(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := twoReplicas(t, sqldb.Postgres)
	connected := make(chan struct{}, 1)
	changes := make(chan store.JobChange, 16)
	done := make(chan error, 1)
	go func() {
		done <- b.FollowJobChanges(ctx, store.ChangeFeed{
			Connected: func() { connected <- struct{}{} },
			Changed:   func(c store.JobChange) { changes <- c },
			Failed:    func(err error) { t.Errorf("feed failed: %v", err) },
		})
	}()
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("the feed did not connect")
	}
	u := storetest.User(t, a, "ada@example.com")
	created := storetest.SubmittedJob(t, a, u, "j_1", "tr_1")
	applied, _, err := a.ApplyUpdate(ctx, job.Update{UpstreamID: "tr_1", Status: job.StatusProcessing, Progress: 0.5, Via: job.ViaSSE})
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := a.DeleteJob(ctx, u.ID, "j_1")
	if err != nil {
		t.Fatal(err)
	}
	var got []store.JobChange
	for len(got) < 4 {
		select {
		case c := <-changes:
			got = append(got, c)
		case <-time.After(5 * time.Second):
			t.Fatalf("after 5 s, notified of %+v; want 4 changes", got)
		}
	}
	// Created (queued), then submitted, then processing, then deleted.
	want := []store.JobChange{
		{UserID: u.ID, Seq: created.Seq - 1, JobID: "j_1"},
		{UserID: u.ID, Seq: created.Seq, JobID: "j_1"},
		{UserID: u.ID, Seq: applied.Seq, JobID: "j_1"},
		{UserID: u.ID, Seq: deleted.Seq, JobID: "j_1", Deleted: true},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("FollowJobChanges: %v", err)
	}
}

// TestFollowLockAcrossReplicas: one replica at a time follows a job's
// stream; the lock goes with its holder's connection.
func TestFollowLockAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	a, b := twoReplicas(t, sqldb.Postgres)
	if ok, err := a.TryLock(ctx, "follow:tr_1"); err != nil || !ok {
		t.Fatalf("a: %v, %v; want the lock", ok, err)
	}
	if ok, err := b.TryLock(ctx, "follow:tr_1"); err != nil || ok {
		t.Fatalf("b while a holds it: %v, %v; want no lock", ok, err)
	}
	if ok, err := b.TryLock(ctx, "follow:tr_2"); err != nil || !ok {
		t.Fatalf("b on another job: %v, %v; want the lock", ok, err)
	}
	a.Close() // a replica that dies takes its locks with it
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := b.TryLock(ctx, "follow:tr_1")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b has no lock 5 s after a closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWebhookOnceAcrossReplicas: the same webhook delivered to two
// replicas at once is applied once, and a stale one never moves a job
// back, whichever replica it lands on.
func TestWebhookOnceAcrossReplicas(t *testing.T) {
	eachPair(t, func(t *testing.T, a, b *store.Store) {
		ctx := context.Background()
		u := storetest.User(t, a, "ada@example.com")
		const jobs = 20
		for i := range jobs {
			storetest.SubmittedJob(t, a, u, fmt.Sprintf("j_%d", i), fmt.Sprintf("tr_%d", i))
		}
		var changed atomic.Int64
		var wg sync.WaitGroup
		for i := range jobs {
			for _, s := range []*store.Store{a, b, a, b} {
				wg.Go(func() {
					u := job.Update{UpstreamID: fmt.Sprintf("tr_%d", i), WebhookID: fmt.Sprintf("wh_%d", i),
						Status: job.StatusCompleted, Result: &job.Result{Text: "hi"}, Via: job.ViaWebhook}
					_, ok, err := s.ApplyUpdate(ctx, u)
					if err != nil && !errors.Is(err, store.ErrDuplicate) {
						t.Errorf("apply: %v", err)
					}
					if ok {
						changed.Add(1)
					}
				})
			}
		}
		wg.Wait()
		if got, want := changed.Load(), int64(jobs); got != want {
			t.Errorf("%d deliveries changed a job, want %d (one per job)", got, want)
		}
		_, ok, err := b.ApplyUpdate(ctx, job.Update{UpstreamID: "tr_0", WebhookID: "wh_late", Status: job.StatusProcessing,
			Progress: 0.5, Via: job.ViaWebhook})
		if err != nil || ok {
			t.Errorf("a stale delivery on the other replica: changed %v, %v; want nothing", ok, err)
		}
		for i := range jobs {
			revs, err := a.Revisions(ctx, fmt.Sprintf("j_%d", i))
			if err != nil {
				t.Fatal(err)
			}
			if len(revs) != 1 {
				t.Errorf("job %d has %d revisions, want 1", i, len(revs))
			}
		}
	})
}
