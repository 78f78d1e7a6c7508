package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
)

// measureStreams holds many idle /events streams of one user and
// measures the app's memory per stream, how long one change takes to
// reach them all, and how fast they all reconnect.
func measureStreams(t *testing.T) []row {
	const email = "streams@example.com"
	n := size(1000, 10000)
	in := newInstall(t, email)
	jobs := in.seedJobs(t, email, 2, true)
	p := in.start(t, map[string]string{"SCRIBE_MAX_UPSTREAM_STREAMS": "64"})
	c := userClient(t, p.URL, email, false)
	// One connection per stream, as browsers' tabs would hold.
	tr := newTransport()
	tr.MaxConnsPerHost = 0
	c.Transport = tr
	time.Sleep(2 * time.Second) // let the app finish starting before the memory baseline
	rss0 := p.RSS(t)

	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var lastSeq string
	arrived := make([]time.Time, n)
	target := jobs[0].ID
	open := func(ctx context.Context, i int, lastID string) error {
		return openStream(ctx, c, p.URL+"/events", lastID, func(j jobEvent) {
			if j.ID == target && j.Status == "completed" {
				mu.Lock()
				if arrived[i].IsZero() {
					arrived[i] = time.Now()
					lastSeq = j.Seq
				}
				mu.Unlock()
			}
		})
	}
	openAll := func(ctx context.Context, lastID string) (time.Duration, int) {
		start := time.Now()
		var wg sync.WaitGroup
		var failures sync.Map
		sem := make(chan struct{}, 64)
		for i := range n {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if err := open(ctx, i, lastID); err != nil {
					failures.Store(i, err)
				}
			})
		}
		wg.Wait()
		failed := 0
		failures.Range(func(_, v any) bool {
			if failed == 0 {
				t.Logf("stream open failed: %v", v)
			}
			failed++
			return true
		})
		return time.Since(start), failed
	}
	openTime, failed := openAll(ctx, "")
	if failed > 0 {
		t.Errorf("%d of %d streams failed to open", failed, n)
	}
	time.Sleep(2 * time.Second)
	rss1 := p.RSS(t)
	perStream := float64(rss1-rss0) / float64(n)

	// One change: the first job completes by webhook.
	hookURL := p.URL + "/webhooks/deepscript"
	now := time.Now()
	body, _ := json.Marshal(deepscript.WebhookEvent{Event: deepscript.EventCompleted, ID: jobs[0].UpstreamID,
		CreatedAt: now, Result: deepscripttest.Result(jobs[0].ID, 2)})
	h, _ := deepscripttest.WebhookHeaders(in.fake.WebhookSecret(hookURL), "msg_bench_fanout", now, body)
	req, _ := http.NewRequest("POST", hookURL, bytes.NewReader(body))
	req.Header = h
	sent := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(30 * time.Second)
	var delays []time.Duration
	for time.Now().Before(deadline) {
		mu.Lock()
		delays = delays[:0]
		for _, at := range arrived {
			if !at.IsZero() {
				delays = append(delays, at.Sub(sent))
			}
		}
		mu.Unlock()
		if len(delays) == n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(delays) < n {
		t.Errorf("the change reached %d of %d streams", len(delays), n)
	}
	slices.Sort(delays)
	p99 := time.Duration(0)
	if len(delays) > 0 {
		p99 = delays[min(len(delays)-1, len(delays)*99/100)]
	}
	// Reconnect storm: every stream drops at once and comes back.
	cancel()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	time.Sleep(500 * time.Millisecond)
	// As browsers do, each resumes from the last event it had.
	mu.Lock()
	resume := lastSeq
	mu.Unlock()
	reconnect, failed := openAll(ctx2, resume)
	if failed > 0 {
		t.Errorf("%d of %d streams failed to reconnect", failed, n)
	}
	t.Logf("streams: %d opened in %v, %.1f KiB each, change p99 %v, reconnect %v", n, openTime, perStream/1024, p99, reconnect)
	return []row{
		{Measure: fmt.Sprintf("RSS per idle /events stream, %d streams", n), Scribe: fmt.Sprintf("%.1f KiB", perStream/1024), Baseline: "–", Ratio: ratio(perStream, 20*1024) + " of target", Target: "≤ 20 KiB"},
		{Measure: fmt.Sprintf("one change to %d streams, p99", n), Scribe: ms(p99), Baseline: "–", Ratio: "–", Target: "≤ 100 ms"},
		{Measure: fmt.Sprintf("%d streams opened", n), Scribe: openTime.Round(time.Millisecond).String(), Baseline: "–", Ratio: "–", Target: "–"},
		{Measure: fmt.Sprintf("%d streams reconnected", n), Scribe: reconnect.Round(time.Millisecond).String(), Baseline: "–", Ratio: "–", Target: "≤ 5 s at 10,000"},
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
