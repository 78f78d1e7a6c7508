package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"scribe/job"
	"scribe/store"
	"scribe/store/storetest"
)

// twoReplicas opens two stores on one database, as two replicas would.
func twoReplicas(t *testing.T) (*store.Store, *store.Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scribe.db")
	var out [2]*store.Store
	for i := range out {
		s, err := store.Open(context.Background(), store.Options{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out[0], out[1]
}

// TestSessionKeysFirstWins: the first replica's keys are everyone's.
func TestSessionKeysFirstWins(t *testing.T) {
	ctx := context.Background()
	a, b := twoReplicas(t)
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
}

// TestWebhookEndpointReload: a replica's copy of the endpoint is replaced
// by what another replica registered once it reloads.
func TestWebhookEndpointReload(t *testing.T) {
	ctx := context.Background()
	a, b := twoReplicas(t)
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
}

// TestClaimsAcrossReplicas: a submission or a delivery claimed by one
// replica is not due for another until its lease runs out, and the
// claiming replica releases its own at once when it restarts.
func TestClaimsAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	a, b := twoReplicas(t)
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
}
