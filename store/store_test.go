package store_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"scribe/job"
	"scribe/pgtest"
	"scribe/store"
	"scribe/store/storetest"
)

// TestMain stops the PostgreSQL that storetest.Each starts.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			o := storetest.OptionsOn(t, d)
			s, err := store.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateUser(ctx, "a@example.com", []byte("h")); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s, err = store.Open(ctx, o) // migrated already: nothing to do
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s.Close()
			if _, err := s.UserByEmail(ctx, "A@EXAMPLE.com"); err != nil {
				t.Fatalf("user lost or email case-sensitive: %v", err)
			}
			if _, err := s.CreateUser(ctx, "a@example.com", []byte("h")); !errors.Is(err, job.ErrConflict) {
				t.Fatalf("duplicate email: got %v, want ErrConflict", err)
			}
		})
	}
}

func TestApplyUpdateForwardOnly(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		storetest.SubmittedJob(t, s, storetest.User(t, s, "a@example.com"), "j_1", "tr_1")
		result := &job.Result{Text: "hello"}
		steps := []struct {
			name        string
			update      job.Update
			wantChanged bool
			wantStatus  job.Status
			wantProg    float64
		}{
			{"Progress", job.Update{Status: job.StatusProcessing, Progress: 0.5, Via: job.ViaSSE}, true, job.StatusProcessing, 0.5},
			{"ProgressBackwards", job.Update{Status: job.StatusProcessing, Progress: 0.2, Via: job.ViaSSE}, false, job.StatusProcessing, 0.5},
			{"StatusBackwards", job.Update{Status: job.StatusQueued, Via: job.ViaPoll}, false, job.StatusProcessing, 0.5},
			{"Completed", job.Update{Status: job.StatusCompleted, Result: result, Via: job.ViaWebhook}, true, job.StatusCompleted, 1},
			{"FailedAfterCompleted", job.Update{Status: job.StatusFailed, Error: "x", Via: job.ViaPoll}, false, job.StatusCompleted, 1},
			{"CompletedAgain", job.Update{Status: job.StatusCompleted, Result: result, Via: job.ViaSSE}, false, job.StatusCompleted, 1},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				st.update.UpstreamID = "tr_1"
				j, changed, err := s.ApplyUpdate(ctx, st.update)
				if err != nil {
					t.Fatal(err)
				}
				if changed != st.wantChanged || j.Status != st.wantStatus || j.Progress != st.wantProg {
					t.Fatalf("got changed=%v %s %.2f, want changed=%v %s %.2f", changed, j.Status, j.Progress, st.wantChanged, st.wantStatus, st.wantProg)
				}
				if got, want := j.CompletedVia, map[bool]job.Via{true: job.ViaWebhook, false: ""}[j.Status.Final()]; got != want {
					t.Fatalf("completed_via = %q, want %q", got, want)
				}
			})
		}
		got, err := s.Result(ctx, "j_1")
		if err != nil || got.Text != "hello" {
			t.Fatalf("result = %+v, %v", got, err)
		}
		if _, _, err := s.ApplyUpdate(ctx, job.Update{UpstreamID: "tr_missing", Status: job.StatusProcessing}); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("unknown upstream id: %v", err)
		}
		if _, _, err := s.ApplyUpdate(ctx, job.Update{UpstreamID: "tr_1", Status: job.StatusCompleted}); !errors.Is(err, store.ErrMissingResult) {
			t.Fatalf("completed without result: %v", err)
		}
	})
}

func TestWebhookDuplicatesRace(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		storetest.SubmittedJob(t, s, storetest.User(t, s, "a@example.com"), "j_1", "tr_1")
		var wg sync.WaitGroup
		var mu sync.Mutex
		var applied, dups int
		for range 8 {
			wg.Go(func() {
				_, changed, err := s.ApplyUpdate(ctx, job.Update{UpstreamID: "tr_1", Status: job.StatusFailed,
					Error: "boom", Via: job.ViaWebhook, WebhookID: "msg_1"})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, store.ErrDuplicate):
					dups++
				case err != nil:
					t.Error(err)
				case changed:
					applied++
				}
			})
		}
		wg.Wait()
		if applied != 1 || dups != 7 {
			t.Fatalf("applied %d, duplicates %d; want 1 and 7", applied, dups)
		}
	})
}

// TestApplyUpdatesBatch applies several updates in one transaction: each
// as it would be alone, in order, and one that fails leaves no trace and
// does not fail the others.
func TestApplyUpdatesBatch(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		u := storetest.User(t, s, "a@example.com")
		storetest.SubmittedJob(t, s, u, "j_1", "tr_1")
		storetest.SubmittedJob(t, s, u, "j_2", "tr_2")
		storetest.SubmittedJob(t, s, u, "j_3", "tr_3")
		result := &job.Result{Text: "hello"}
		batch := []job.Update{
			{UpstreamID: "tr_1", Status: job.StatusProcessing, Progress: 0.5, Via: job.ViaSSE},
			// Sees the progress above, within the same transaction.
			{UpstreamID: "tr_1", Status: job.StatusCompleted, Result: result, Via: job.ViaWebhook, WebhookID: "msg_1"},
			// Its receipt is rolled back with it, so msg_2 is free below.
			{UpstreamID: "tr_missing", Status: job.StatusFailed, Via: job.ViaWebhook, WebhookID: "msg_2"},
			{UpstreamID: "tr_2", Status: job.StatusCompleted, Via: job.ViaWebhook, WebhookID: "msg_3"},
			{UpstreamID: "tr_2", Status: job.StatusFailed, Error: "boom", Via: job.ViaWebhook, WebhookID: "msg_2"},
			// The same webhook-id again in the same batch.
			{UpstreamID: "tr_3", Status: job.StatusFailed, Error: "other", Via: job.ViaWebhook, WebhookID: "msg_1"},
		}
		want := []struct {
			changed bool
			status  job.Status
			err     error
		}{
			{true, job.StatusProcessing, nil},
			{true, job.StatusCompleted, nil},
			{false, "", job.ErrNotFound},
			{false, "", store.ErrMissingResult},
			{true, job.StatusFailed, nil},
			{false, "", store.ErrDuplicate},
		}
		got := s.ApplyUpdates(ctx, batch)
		if len(got) != len(batch) {
			t.Fatalf("%d outcomes for %d updates", len(got), len(batch))
		}
		var lastSeq int64
		for k, a := range got {
			w := want[k]
			if a.Changed != w.changed || (w.err == nil) != (a.Err == nil) || (w.err != nil && !errors.Is(a.Err, w.err)) {
				t.Errorf("update %d: changed %v, err %v; want changed %v, err %v", k, a.Changed, a.Err, w.changed, w.err)
				continue
			}
			if a.Changed {
				if a.Job.Status != w.status {
					t.Errorf("update %d: job %s, want %s", k, a.Job.Status, w.status)
				}
				if a.Job.Seq <= lastSeq {
					t.Errorf("update %d: seq %d after %d; want increasing in batch order", k, a.Job.Seq, lastSeq)
				}
				lastSeq = a.Job.Seq
			}
		}
		for id, status := range map[string]job.Status{"j_1": job.StatusCompleted, "j_2": job.StatusFailed, "j_3": job.StatusQueued} {
			j, err := s.Job(ctx, u.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Status != status {
				t.Errorf("stored %s is %s, want %s", id, j.Status, status)
			}
		}
		// Across batches, every recorded webhook-id stays a duplicate.
		for _, a := range s.ApplyUpdates(ctx, []job.Update{batch[1], batch[4]}) {
			if !errors.Is(a.Err, store.ErrDuplicate) || a.Changed {
				t.Errorf("repeated delivery: changed %v, err %v; want a duplicate", a.Changed, a.Err)
			}
		}
	})
}

func TestOwnership(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		j := storetest.SubmittedJob(t, s, storetest.User(t, s, "a@example.com"), "j_1", "tr_1")
		other := storetest.User(t, s, "b@example.com")
		if _, err := s.Job(ctx, other.ID, j.ID); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("other user's Job: %v", err)
		}
		if _, err := s.DeleteJob(ctx, other.ID, j.ID); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("other user's DeleteJob: %v", err)
		}
		if _, err := s.Job(ctx, j.UserID, j.ID); err != nil {
			t.Fatalf("owner lost the job: %v", err)
		}
	})
}

func TestChangedSinceAndRetry(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		j := storetest.SubmittedJob(t, s, storetest.User(t, s, "a@example.com"), "j_1", "tr_1")
		mark := j.Seq
		if jobs, _ := s.JobsChangedSince(ctx, j.UserID, mark, 10); len(jobs) != 0 {
			t.Fatalf("nothing changed yet, got %d jobs", len(jobs))
		}
		failed, _, err := s.ApplyUpdate(ctx, job.Update{UpstreamID: "tr_1", Status: job.StatusFailed, Error: "bad audio", Via: job.ViaPoll})
		if err != nil {
			t.Fatal(err)
		}
		jobs, err := s.JobsChangedSince(ctx, j.UserID, mark, 10)
		if err != nil || len(jobs) != 1 || jobs[0].Seq != failed.Seq {
			t.Fatalf("changed since %d: %+v, %v", mark, jobs, err)
		}
		r, err := s.RetryJob(ctx, j.UserID, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != job.StatusQueued || r.UpstreamID != "" || r.SubmitKey() == j.SubmitKey() {
			t.Fatalf("retried job: %+v", r)
		}
		if _, err := s.RetryJob(ctx, j.UserID, j.ID); !errors.Is(err, job.ErrConflict) {
			t.Fatalf("retrying a queued job: %v", err)
		}
	})
}

// BenchmarkApplyUpdate measures progress updates committed per second on a
// real SQLite file (WAL, synchronous=NORMAL), the relay's hot path.
func BenchmarkApplyUpdate(b *testing.B) {
	ctx := context.Background()
	s := storetest.Open(b)
	storetest.SubmittedJob(b, s, storetest.User(b, s, "a@example.com"), "j_1", "tr_1")
	b.ResetTimer()
	for i := range b.N {
		_, changed, err := s.ApplyUpdate(ctx, job.Update{UpstreamID: "tr_1", Status: job.StatusProcessing,
			Progress: float64(i+1) / float64(b.N+1), Via: job.ViaSSE})
		if err != nil || !changed {
			b.Fatalf("update %d: changed=%v err=%v", i, changed, err)
		}
	}
}

// TestTimesInOtherZones passes times that are not in UTC, as the submitter
// and the backstop compute them from time.Now: SQLite compares stored times
// as text, so they must be stored and compared in one zone.
func TestTimesInOtherZones(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		storetest.SubmittedJob(t, s, storetest.User(t, s, "a@example.com"), "j_1", "tr_1")
		east := time.FixedZone("UTC+5", 5*3600)

		later := func(int) time.Time { return s.Now().Add(time.Hour) }
		stale, err := s.ClaimDuePolls(ctx, s.Now().In(east), s.Now().Add(-time.Minute).In(east), 10, later)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(stale), 0; got != want {
			t.Fatalf("ClaimDuePolls with a cutoff before submission, in UTC+5: %d jobs, want %d", got, want)
		}

		q := storetest.QueuedJob(t, s, storetest.User(t, s, "b@example.com"), "j_queued")
		if err := s.ScheduleSubmit(ctx, q.ID, s.Now().Add(-time.Minute).In(east)); err != nil {
			t.Fatal(err)
		}
		due, err := s.ClaimDueSubmissions(ctx, 10, func(job.Job) time.Duration { return time.Minute })
		if err != nil {
			t.Fatal(err)
		}
		if len(due) != 1 || due[0].ID != q.ID {
			t.Fatalf("a submission rescheduled a minute ago (in UTC+5) is not due: %v", due)
		}
	})
}

// TestFailedWithoutError applies a failure that carries no error object, as
// a stream event or a /status answer may: the job still says it failed.
func TestFailedWithoutError(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		storetest.SubmittedJob(t, s, storetest.User(t, s, "a@example.com"), "j_1", "tr_1")
		j, changed, err := s.ApplyUpdate(ctx, job.Update{UpstreamID: "tr_1", Status: job.StatusFailed, Via: job.ViaSSE})
		if err != nil || !changed {
			t.Fatalf("changed=%v, %v", changed, err)
		}
		if got, want := j.Error, job.DefaultFailure; got != want {
			t.Fatalf("error %q, want %q", got, want)
		}
	})
}

// TestMarkSubmittedOnce: the submitter and a webhook adopting the job may
// both learn the upstream id; the second must change nothing, not even the
// change sequence that browser streams resume from.
func TestMarkSubmittedOnce(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		j := storetest.SubmittedJob(t, s, storetest.User(t, s, "a@example.com"), "j_1", "tr_1")
		done, _, err := s.ApplyUpdate(ctx, job.Update{UpstreamID: "tr_1", Status: job.StatusFailed, Error: "x", Via: job.ViaWebhook})
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.MarkSubmitted(ctx, j.ID, "tr_1")
		if err != nil {
			t.Fatal(err)
		}
		if again.Seq != done.Seq || again.Status != job.StatusFailed || !again.SubmittedAt.Equal(done.SubmittedAt) {
			t.Fatalf("second MarkSubmitted changed the job: seq %d→%d, %s", done.Seq, again.Seq, again.Status)
		}
	})
}
