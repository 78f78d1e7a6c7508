package engine

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/pgtest"
	"scribe/random"
)

// postgresTests maps the name of a test running on PostgreSQL (a subtest
// of onBothBackends) to its database, so startEngine, called from it or
// its subtests, uses that database.
var postgresTests sync.Map // test name → database URL

// onBothBackends runs test once on SQLite and once on a fresh PostgreSQL
// database, as subtests named after the backend.
func onBothBackends(t *testing.T, test func(t *testing.T)) {
	t.Run("SQLite", test)
	t.Run("PostgreSQL", func(t *testing.T) {
		postgresTests.Store(t.Name(), pgtest.URL(t))
		t.Cleanup(func() { postgresTests.Delete(t.Name()) })
		test(t)
	})
}

// databaseFor is the database URL onBothBackends chose for t: "" for
// SQLite.
func databaseFor(t *testing.T) string {
	url := ""
	postgresTests.Range(func(name, u any) bool {
		if t.Name() == name || strings.HasPrefix(t.Name(), name.(string)+"/") {
			url = u.(string)
			return false
		}
		return true
	})
	return url
}

// storeNodes opens two stores on one database, as two engine nodes with
// their own lease owner would (on SQLite, two handles on one file), with
// the given clock and a 3 s lease.
func storeNodes(t *testing.T, now func() time.Time) (a, b *store) {
	t.Helper()
	url, path := databaseFor(t), filepath.Join(t.TempDir(), "engine.db")
	open := func(owner string) *store {
		st, err := openStore(context.Background(), url, path, now)
		if err != nil {
			t.Fatalf("openStore: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		st.owner, st.lease = owner, 3*time.Second
		return st
	}
	return open("node-a"), open("node-b")
}

// queue stores a queued job with a webhook URL (if any) and returns its id.
func queue(t *testing.T, st *store, webhookURL string) string {
	t.Helper()
	id := random.ID("tr_")
	if _, err := st.CreateTranscription(context.Background(), newTranscription{
		ID: id, Language: "en", AudioPath: id, FileSHA256: id, Duration: 3, WebhookURL: webhookURL,
	}); err != nil {
		t.Fatalf("CreateTranscription: %v", err)
	}
	return id
}

func TestStoreClaims(t *testing.T) {
	onBothBackends(t, func(t *testing.T) {
		ctx := context.Background()
		a, b := storeNodes(t, nil)
		first, second := queue(t, a, ""), queue(t, b, "")

		job, ev, err := a.ClaimNext(ctx)
		if err != nil || job.ID != first || ev == nil || ev.Type != deepscript.EventStatus {
			t.Fatalf("A claims %+v, %+v, %v; want %s with its status event", job, ev, err, first)
		}
		job, _, err = b.ClaimNext(ctx)
		if err != nil || job.ID != second {
			t.Fatalf("B claims %+v, %v; want %s, the one A does not hold", job, err, second)
		}
		if _, _, err := a.ClaimNext(ctx); !errors.Is(err, errNotFound) {
			t.Fatalf("A claims again: %v, want errNotFound while both are held", err)
		}
		if held, err := a.RenewLease(ctx, second); err != nil || held {
			t.Errorf("A renews B's lease: %v, %v; want false", held, err)
		}
		if _, changed, err := a.UpdateProgress(ctx, second, 0.5); err != nil || changed {
			t.Errorf("A records progress of B's job: changed %v, %v", changed, err)
		}
		if _, _, err := a.MarkCompleted(ctx, second, deepscript.Result{Text: "x"}); !errors.Is(err, errLeaseLost) {
			t.Errorf("A completes B's job: %v, want errLeaseLost", err)
		}
		if err := b.ReleaseJob(ctx, second); err != nil {
			t.Fatal(err)
		}
		job, ev, err = a.ClaimNext(ctx)
		if err != nil || job.ID != second || ev != nil {
			t.Fatalf("A claims the released job: %+v, %+v, %v; want %s and no second status event", job, ev, err, second)
		}
	})
}

// A node that stops renewing loses its job to another once the lease runs
// out, and cannot complete it afterwards: the job completes once.
func TestStoreLeaseExpiry(t *testing.T) {
	onBothBackends(t, func(t *testing.T) {
		ctx := context.Background()
		clock := &testClock{}
		a, b := storeNodes(t, clock.Now)
		id := queue(t, a, "")
		if _, _, err := a.ClaimNext(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ev, err := a.UpdateProgress(ctx, id, 0.4); err != nil || !ev {
			t.Fatalf("A records progress: %v, %v", ev, err)
		}
		clock.Advance(2 * time.Second)
		if held, err := a.RenewLease(ctx, id); err != nil || !held {
			t.Fatalf("A renews: %v, %v", held, err)
		}
		clock.Advance(2 * time.Second) // 4 s after the claim, 2 s after the renewal
		if _, _, err := b.ClaimNext(ctx); !errors.Is(err, errNotFound) {
			t.Fatalf("B claims a renewed lease: %v, want errNotFound", err)
		}
		clock.Advance(2 * time.Second) // the renewal's 3 s are over
		job, ev, err := b.ClaimNext(ctx)
		if err != nil || job.ID != id || ev != nil {
			t.Fatalf("B claims the expired job: %+v, %+v, %v", job, ev, err)
		}
		if job.Progress != 0.4 {
			t.Errorf("B resumes from progress %v, want the high-water mark 0.4", job.Progress)
		}
		if held, err := a.RenewLease(ctx, id); err != nil || held {
			t.Errorf("A renews after losing the lease: %v, %v; want false", held, err)
		}
		if _, _, err := b.MarkCompleted(ctx, id, deepscript.Result{Text: "from b", Duration: 3}); err != nil {
			t.Fatalf("B completes: %v", err)
		}
		if _, _, err := a.MarkCompleted(ctx, id, deepscript.Result{Text: "from a", Duration: 3}); !errors.Is(err, errLeaseLost) {
			t.Errorf("late A completes: %v, want errLeaseLost", err)
		}
		if _, _, err := b.MarkCompleted(ctx, id, deepscript.Result{Text: "again", Duration: 3}); !errors.Is(err, errLeaseLost) {
			t.Errorf("B completes twice: %v, want errLeaseLost", err)
		}
		tr, err := a.Transcription(ctx, id, true)
		if err != nil || tr.Status != deepscript.StatusCompleted || tr.Result.Text != "from b" {
			t.Fatalf("job %+v, %v; want completed with B's result", tr, err)
		}
		events, err := a.EventsAfter(ctx, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		completed := 0
		for _, ev := range events {
			if ev.Type == deepscript.EventCompleted {
				completed++
			}
		}
		if completed != 1 {
			t.Errorf("%d completed events, want 1: %+v", completed, events)
		}
	})
}

// Many workers on two nodes claiming at once take each job once.
func TestStoreConcurrentClaims(t *testing.T) {
	onBothBackends(t, func(t *testing.T) {
		ctx := context.Background()
		a, b := storeNodes(t, nil)
		const jobs = 30
		for range jobs {
			queue(t, a, "")
		}
		var (
			mu      sync.Mutex
			claimed []string
			wg      sync.WaitGroup
		)
		for i := range 6 {
			st := []*store{a, b}[i%2]
			wg.Go(func() {
				for {
					job, _, err := st.ClaimNext(ctx)
					if errors.Is(err, errNotFound) {
						return
					}
					if err != nil {
						t.Errorf("ClaimNext: %v", err)
						return
					}
					mu.Lock()
					claimed = append(claimed, job.ID)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		sort.Strings(claimed)
		for i := 1; i < len(claimed); i++ {
			if claimed[i] == claimed[i-1] {
				t.Errorf("job %s claimed twice", claimed[i])
			}
		}
		if len(claimed) != jobs {
			t.Errorf("%d claims, want %d", len(claimed), jobs)
		}
	})
}

// A webhook delivery is claimed by one node; if that node dies with it in
// flight, another node claims it after the lease.
func TestStoreDeliveryClaims(t *testing.T) {
	onBothBackends(t, func(t *testing.T) {
		ctx := context.Background()
		clock := &testClock{}
		a, b := storeNodes(t, clock.Now)
		const url = "http://127.0.0.1:1/hook"
		if _, err := a.CreateWebhook(ctx, "we_1", url, []string{deepscript.EventCompleted}, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.CreateWebhook(ctx, "we_2", url, []string{deepscript.EventCompleted}, "whsec_x"); !errors.Is(err, errDuplicateURL) {
			t.Errorf("the same URL on another node: %v, want errDuplicateURL", err)
		}
		id := queue(t, a, url)
		if _, _, err := a.ClaimNext(ctx); err != nil {
			t.Fatal(err)
		}
		if _, queued, err := a.MarkCompleted(ctx, id, deepscript.Result{Duration: 3}); err != nil || !queued {
			t.Fatalf("MarkCompleted: queued %v, %v", queued, err)
		}
		got, err := a.ClaimDueDeliveries(ctx, 8, 5*time.Second)
		if err != nil || len(got) != 1 {
			t.Fatalf("A claims %d deliveries, %v; want 1", len(got), err)
		}
		if again, err := b.ClaimDueDeliveries(ctx, 8, 5*time.Second); err != nil || len(again) != 0 {
			t.Fatalf("B claims %d leased deliveries, %v; want 0", len(again), err)
		}
		clock.Advance(6 * time.Second) // A died with it in flight
		retry, err := b.ClaimDueDeliveries(ctx, 8, 5*time.Second)
		if err != nil || len(retry) != 1 || retry[0].MsgID != got[0].MsgID {
			t.Fatalf("B claims %+v, %v; want the same message after the lease", retry, err)
		}
		if err := b.RecordAttempt(ctx, retry[0], attemptOutcome{Delivered: true}); err != nil {
			t.Fatal(err)
		}
		list, err := a.Deliveries(ctx)
		if err != nil || len(list) != 1 || list[0].State != "delivered" || list[0].Attempts != 1 {
			t.Errorf("deliveries %+v, %v", list, err)
		}
	})
}

// The balance is charged and refunded in the same transactions as the
// jobs, on both databases.
func TestStoreBalance(t *testing.T) {
	onBothBackends(t, func(t *testing.T) {
		ctx := context.Background()
		a, b := storeNodes(t, nil)
		for _, st := range []*store{a, b} {
			st.grantSeconds = 10
		}
		id := queue(t, a, "")
		queue(t, b, "")
		if _, err := a.CreateTranscription(ctx, newTranscription{ID: "tr_big", Language: "en", AudioPath: "x", FileSHA256: "x", Duration: 5}); !errors.Is(err, errInsufficientBalance) {
			t.Errorf("a job over the balance: %v, want errInsufficientBalance", err)
		}
		if left, _, err := b.RemainingBalance(ctx); err != nil || left != 4 {
			t.Errorf("remaining %v, %v; want 4", left, err)
		}
		if _, err := b.DeleteTranscription(ctx, id); err != nil {
			t.Fatal(err)
		}
		if left, _, err := a.RemainingBalance(ctx); err != nil || left != 7 {
			t.Errorf("remaining after refund %v, %v; want 7", left, err)
		}
	})
}
