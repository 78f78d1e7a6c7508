package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
)

// measureIngest sends signed transcription.completed webhooks for
// distinct processing jobs from 8 senders as fast as the app answers,
// and checks every one reached the store and a browser stream.
func measureIngest(t *testing.T) []row {
	const email = "ingest@example.com"
	n := size(1000, 10000)
	in := newInstall(t, email)
	jobs := in.seedJobs(t, email, n, true)
	p := in.start(t, map[string]string{"SCRIBE_MAX_UPSTREAM_STREAMS": "64"})
	c := userClient(t, p.URL, email, false)
	hookURL := p.URL + "/webhooks/deepscript"
	secret := in.fake.WebhookSecret(hookURL)
	if secret == "" {
		t.Fatal("the app registered no webhook endpoint with the fake upstream")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	seen := map[string]bool{}
	allSeen := make(chan struct{})
	err := openStream(ctx, c, p.URL+"/events", "", func(j jobEvent) {
		mu.Lock()
		defer mu.Unlock()
		if j.Status == "completed" && !seen[j.ID] {
			seen[j.ID] = true
			if len(seen) == n {
				close(allSeen)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	// Sign every delivery first, so the senders measure the app alone.
	type delivery struct {
		header http.Header
		body   []byte
	}
	deliveries := make([]delivery, n)
	now := time.Now()
	for i, j := range jobs {
		body, _ := json.Marshal(deepscript.WebhookEvent{Event: deepscript.EventCompleted, ID: j.UpstreamID,
			CreatedAt: now, Result: deepscripttest.Result(j.ID, 2)})
		h, err := deepscripttest.WebhookHeaders(secret, "msg_bench_"+j.UpstreamID, now, body)
		if err != nil {
			t.Fatal(err)
		}
		deliveries[i] = delivery{h, body}
	}
	const senders = 8
	hc := &http.Client{Transport: newTransport(), Timeout: 30 * time.Second}
	var next atomic.Int64
	var failed atomic.Int64
	lat := make([][]time.Duration, senders)
	send := func(d delivery) (int, error) {
		req, _ := http.NewRequest("POST", hookURL, bytes.NewReader(d.body))
		req.Header = d.header.Clone()
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	cpu0 := p.CPU(t)
	start := time.Now()
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				status, err := send(deliveries[i])
				lat[s] = append(lat[s], time.Since(t0))
				if err != nil || status/100 != 2 {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	busy := p.CPU(t) - cpu0
	if failed.Load() > 0 {
		t.Errorf("%d of %d deliveries were not answered 2xx", failed.Load(), n)
	}
	select {
	case <-allSeen:
	case <-time.After(30 * time.Second):
	}
	mu.Lock()
	lost := n - len(seen)
	mu.Unlock()
	if lost != 0 {
		t.Errorf("%d of %d completions never reached the browser stream", lost, n)
	}
	// A duplicate is answered 2xx and changes nothing.
	dupStatus, err := send(deliveries[0])
	if err != nil || dupStatus/100 != 2 {
		t.Errorf("duplicate delivery: status %d, %v", dupStatus, err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	p99 := all[len(all)*99/100]
	rate := float64(n) / elapsed.Seconds()
	t.Logf("ingest: %d deliveries in %v, %.0f/s, p99 %v, app CPU %.2f cores", n, elapsed, rate, p99, busy.Seconds()/elapsed.Seconds())
	return []row{
		{Measure: fmt.Sprintf("webhooks/s, %d distinct jobs, 8 senders", n), Scribe: fmt.Sprintf("%.0f", rate), Baseline: "–", Ratio: ratio(rate, 5000) + " of target", Target: "≥ 5000"},
		{Measure: "webhook p99 latency", Scribe: fmt.Sprintf("%.1f ms", float64(p99.Microseconds())/1000), Baseline: "–", Ratio: "–", Target: "≤ 25 ms"},
		{Measure: "webhook effects lost (store + stream)", Scribe: fmt.Sprint(lost), Baseline: "–", Ratio: "–", Target: "0"},
		{Measure: "app CPU during ingest", Scribe: fmt.Sprintf("%.2f cores", busy.Seconds()/elapsed.Seconds()), Baseline: "–", Ratio: "–", Target: "–"},
	}
}
