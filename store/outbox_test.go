package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"scribe/job"
	"scribe/store"
	"scribe/store/storetest"
)

// endpoint registers an endpoint of u's for events.
func endpoint(t *testing.T, s *store.Store, u store.User, events ...job.Event) store.HookEndpoint {
	t.Helper()
	e, err := s.CreateHookEndpoint(context.Background(), store.HookEndpoint{UserID: u.ID,
		URL: "https://example.com/hook", Secret: "whsec_c2VjcmV0", Events: events})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// deliveries lists an endpoint's deliveries, oldest first.
func deliveries(t *testing.T, s *store.Store, u store.User, e store.HookEndpoint) []store.HookDelivery {
	t.Helper()
	ds, err := s.HookDeliveries(context.Background(), u.ID, e.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
		ds[i], ds[j] = ds[j], ds[i]
	}
	return ds
}

func events(ds []store.HookDelivery) []job.Event {
	var out []job.Event
	for _, d := range ds {
		out = append(out, d.Event)
	}
	return out
}

func TestOutboxWrittenWithJobChanges(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		alice, bob := storetest.User(t, s, "alice@example.com"), storetest.User(t, s, "bob@example.com")
		finals := endpoint(t, s, alice, job.EventCompleted, job.EventFailed)
		progress := endpoint(t, s, alice, job.EventProgress, job.EventCompleted)
		bobs := endpoint(t, s, bob, job.EventCompleted, job.EventFailed, job.EventProgress)
		storetest.SubmittedJob(t, s, alice, "j_1", "tr_1")
		apply := func(u job.Update) {
			t.Helper()
			u.UpstreamID = "tr_1"
			if _, _, err := s.ApplyUpdate(ctx, u); err != nil {
				t.Fatal(err)
			}
		}

		apply(job.Update{Status: job.StatusProcessing, Progress: 0.2, Via: job.ViaSSE})
		apply(job.Update{Status: job.StatusProcessing, Progress: 0.5, Via: job.ViaSSE})
		t.Run("ProgressCoalesced", func(t *testing.T) {
			ds := deliveries(t, s, alice, progress)
			if len(ds) != 1 || ds[0].Event != job.EventProgress {
				t.Fatalf("progress endpoint has %v, want one job.progress", events(ds))
			}
			if got, want := ds[0].Job.Progress, 0.5; got != want {
				t.Errorf("pending progress event carries %v, want the latest, %v", got, want)
			}
			if ds := deliveries(t, s, alice, finals); len(ds) != 0 {
				t.Errorf("endpoint without job.progress has %v", events(ds))
			}
		})

		// The pending progress row is being sent: new progress needs a row of its own.
		claimed, err := s.ClaimHookDeliveries(ctx, 10, time.Minute, func(store.HookDelivery) bool { return true })
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claimed %d deliveries (%v), want the one progress event", len(claimed), err)
		}
		apply(job.Update{Status: job.StatusProcessing, Progress: 0.7, Via: job.ViaSSE})
		t.Run("InFlightNotRewritten", func(t *testing.T) {
			ds := deliveries(t, s, alice, progress)
			if len(ds) != 2 || ds[0].Job.Progress != 0.5 || ds[1].Job.Progress != 0.7 {
				t.Fatalf("after progress during an attempt: %d deliveries, want the one in flight at 0.5 and a new one at 0.7", len(ds))
			}
			if ds[0].MessageID == ds[1].MessageID {
				t.Errorf("two events share webhook-id %s", ds[0].MessageID)
			}
		})

		apply(job.Update{Status: job.StatusCompleted, Result: &job.Result{Text: "hi"}, Via: job.ViaWebhook})
		apply(job.Update{Status: job.StatusCompleted, Result: &job.Result{Text: "hi"}, Via: job.ViaPoll})
		t.Run("CompletedOncePerEndpoint", func(t *testing.T) {
			if got := events(deliveries(t, s, alice, finals)); len(got) != 1 || got[0] != job.EventCompleted {
				t.Errorf("finals endpoint has %v, want one job.completed", got)
			}
			got := events(deliveries(t, s, alice, progress))
			if len(got) != 2 || got[0] != job.EventProgress || got[1] != job.EventCompleted {
				t.Errorf("progress endpoint has %v, want the in-flight progress, then job.completed (the untried progress dropped)", got)
			}
			d := deliveries(t, s, alice, finals)[0]
			if d.Job == nil || d.Job.ID != "j_1" || d.Job.Status != job.StatusCompleted || d.State != store.DeliveryPending {
				t.Errorf("completed delivery: job %+v, state %s", d.Job, d.State)
			}
		})
		t.Run("OtherUsersEndpointsUntouched", func(t *testing.T) {
			if ds := deliveries(t, s, bob, bobs); len(ds) != 0 {
				t.Errorf("bob's endpoint got %v from alice's job", events(ds))
			}
		})
		t.Run("FailedBeforeSubmit", func(t *testing.T) {
			storetest.QueuedJob(t, s, alice, "j_2")
			if _, err := s.FailUnsubmitted(ctx, "j_2", "refused"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.FailUnsubmitted(ctx, "j_2", "refused"); err != nil {
				t.Fatal(err)
			}
			ds := deliveries(t, s, alice, finals)
			if got := events(ds); len(got) != 2 || got[1] != job.EventFailed || ds[1].JobID != "j_2" {
				t.Errorf("finals endpoint has %v, want job.completed then one job.failed for j_2", got)
			}
		})
	})
}

func TestOutboxOwnership(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		alice, bob := storetest.User(t, s, "alice@example.com"), storetest.User(t, s, "bob@example.com")
		e := endpoint(t, s, alice, job.EventCompleted)
		if err := s.EnqueueTestEvent(ctx, bob.ID, e.ID); !errors.Is(err, job.ErrNotFound) {
			t.Errorf("bob's test event to alice's endpoint: %v, want not found", err)
		}
		if err := s.EnqueueTestEvent(ctx, alice.ID, e.ID); err != nil {
			t.Fatal(err)
		}
		d := deliveries(t, s, alice, e)[0]
		if d.Event != job.EventTest || d.Job != nil {
			t.Errorf("test delivery: event %s, job %v", d.Event, d.Job)
		}
		if err := s.Redeliver(ctx, bob.ID, d.ID); !errors.Is(err, job.ErrNotFound) {
			t.Errorf("bob redelivering alice's delivery: %v, want not found", err)
		}
		if ds, err := s.HookDeliveries(ctx, bob.ID, e.ID, 10); err != nil || len(ds) != 0 {
			t.Errorf("bob listing alice's deliveries: %d, %v", len(ds), err)
		}
		if err := s.DeleteHookEndpoint(ctx, bob.ID, e.ID); !errors.Is(err, job.ErrNotFound) {
			t.Errorf("bob deleting alice's endpoint: %v, want not found", err)
		}
		if err := s.DeleteHookEndpoint(ctx, alice.ID, e.ID); err != nil {
			t.Fatal(err)
		}
		if claimed, err := s.ClaimHookDeliveries(ctx, 10, time.Minute, func(store.HookDelivery) bool { return true }); err != nil || len(claimed) != 0 {
			t.Errorf("after deleting the endpoint %d deliveries remain due (%v)", len(claimed), err)
		}
		for range store.MaxHookEndpoints {
			endpoint(t, s, bob, job.EventCompleted)
		}
		if _, err := s.CreateHookEndpoint(ctx, store.HookEndpoint{UserID: bob.ID, URL: "https://x.example", Secret: "whsec_eA==",
			Events: []job.Event{job.EventFailed}}); !errors.Is(err, store.ErrTooManyHookEndpoints) {
			t.Errorf("endpoint past the limit: %v, want ErrTooManyHookEndpoints", err)
		}
	})
}
