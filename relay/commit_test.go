package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"scribe/deepscript/deepscripttest"
	"scribe/job"
	"scribe/metrics"
	"scribe/store"
	"scribe/store/storetest"
)

// TestGroupCommit applies many updates at once through batches smaller
// than the queue, each update twice under one webhook-id: every caller is
// answered, each job changes once, and the changes are published once
// each, in commit order.
func TestGroupCommit(t *testing.T) {
	defer func(n int) { maxBatch = n }(maxBatch)
	maxBatch = 3
	const jobs = 40
	s := storetest.Open(t)
	r := New(s, deepscripttest.NewServer(t).Client(), metrics.New(), slog.New(slog.DiscardHandler))
	user := storetest.User(t, s, "ada@example.com")
	for k := range jobs {
		storetest.SubmittedJob(t, s, user, fmt.Sprintf("j_%d", k), fmt.Sprintf("tr_%d", k))
	}
	sub, err := r.Subscribe(user.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	var mu sync.Mutex
	changed, duplicates := map[string]int{}, 0
	var wg sync.WaitGroup
	for k := range 2 * jobs {
		wg.Go(func() {
			id := k / 2
			u := job.Update{UpstreamID: fmt.Sprintf("tr_%d", id), Status: job.StatusFailed, Error: "boom",
				Via: job.ViaWebhook, WebhookID: fmt.Sprintf("msg_%d", id)}
			ok, err := r.Apply(context.Background(), u)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, store.ErrDuplicate):
				duplicates++
			case err != nil:
				t.Errorf("apply %s: %v", u.UpstreamID, err)
			case ok:
				changed[u.UpstreamID]++
			}
		})
	}
	wg.Wait()
	if len(changed) != jobs || duplicates != jobs {
		t.Errorf("%d jobs changed, %d duplicates; want %d of each", len(changed), duplicates, jobs)
	}
	var lastSeq int64
	for k := range jobs {
		c, err := sub.Next()
		if err != nil || c == nil {
			t.Fatalf("%d changes published, want %d (%v)", k, jobs, err)
		}
		if c.Job.Seq <= lastSeq {
			t.Errorf("change %d published with seq %d after seq %d; want commit order", k, c.Job.Seq, lastSeq)
		}
		lastSeq = c.Job.Seq
	}
	if c, _ := sub.Next(); c != nil {
		t.Errorf("published %s again", c.Job.ID)
	}
}
