package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"scribe/deepscript/deepscripttest"
	"scribe/lb"
	"scribe/media/mediatest"
	"scribe/pgtest"
)

// BenchmarkReplicas compares one replica with two, side by side in one
// run, on one PostgreSQL and the fake upstream: streams browser streams
// stay open through a balancer while jobs uploads go through it, and it
// reports jobs per minute (upload to final, as the app tells it) and how
// long each final state took to reach every open stream.
//
//	go test -run '^$' -bench Replicas -benchtime 1x .
func BenchmarkReplicas(b *testing.B) {
	const streams, jobs = 400, 120
	files := make([]string, jobs)
	dir := b.TempDir()
	for i := range files {
		files[i] = mediatest.Tone(b, dir, fmt.Sprintf("bench-%03d.wav", i), 200+float64(i)*3)
	}
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			for range b.N {
				perMinute, spread := replicaRun(b, n, streams, files)
				b.ReportMetric(perMinute, "jobs/min")
				b.ReportMetric(float64(spread.Milliseconds()), "ms-to-all-streams-p50")
			}
		})
	}
}

// replicaRun runs one installation of n replicas and returns its jobs per
// minute and the median time from a job's final state first showing on a
// stream to its showing on every stream.
func replicaRun(b *testing.B, n, streams int, files []string) (float64, time.Duration) {
	fake := deepscripttest.NewServer(b)
	fake.Plan = func(string) deepscripttest.Plan { return deepscripttest.Plan{Duration: 500 * time.Millisecond} }
	db, uploads := pgtest.URL(b), b.TempDir()
	var backends []*url.URL
	var addrs []string
	for range n {
		a := freeAddr(b)
		addrs = append(addrs, a)
		backends = append(backends, &url.URL{Scheme: "http", Host: a})
	}
	front := httptest.NewServer(lb.New(backends...))
	b.Cleanup(front.Close)
	for i, a := range addrs {
		env := replicaEnv(fake, db, uploads, front.URL, a, b.TempDir())
		env["SCRIBE_MAX_STREAMS_PER_USER"], env["SCRIBE_MAX_QUEUED_PER_USER"], env["SCRIBE_DAILY_AUDIO_PER_USER"] = "0", "0", "0"
		startProcess(b, env, fmt.Sprintf("replica %d", i+1))
	}
	app := &testApp{URL: front.URL}
	user := newUser(b, app, "bench@example.com")

	// Each stream notes when it first showed each job final.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	finals := map[string][]time.Time{}
	var open atomic.Int64
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	sc := streamClient(user)
	for range streams {
		resp, err := openStream(ctx, sc, app.URL+"/events", "")
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("stream %d: %v %v", open.Load(), resp, err)
		}
		open.Add(1)
		wg.Go(func() {
			defer resp.Body.Close()
			seen := map[string]bool{}
			readSSE(resp.Body, func(m sseMessage) {
				var j jobState
				json.Unmarshal([]byte(m.data), &j)
				if (j.Status == "completed" || j.Status == "failed") && !seen[j.ID] {
					seen[j.ID] = true
					mu.Lock()
					finals[j.ID] = append(finals[j.ID], time.Now())
					mu.Unlock()
				}
			})
		})
	}

	began := time.Now()
	ids := make([]string, len(files))
	next := make(chan int)
	var up sync.WaitGroup
	for range 8 {
		up.Go(func() {
			for i := range next {
				var err error
				if ids[i], err = uploadAs(user, app.URL, files[i]); err != nil {
					b.Errorf("upload %d: %v", i, err)
				}
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	up.Wait()
	waitAllFinal(b, app, fake, ids, func(int) *http.Client { return user }, 3*time.Minute)
	took := time.Since(began)
	eventually(b, 30*time.Second, "every stream shows every final state", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if got := len(finals[id]); got < streams {
				return false, fmt.Sprintf("job %s final on %d of %d streams", id, got, streams)
			}
		}
		return true, ""
	})
	mu.Lock()
	var spreads []time.Duration
	for _, id := range ids {
		ts := finals[id]
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		spreads = append(spreads, ts[len(ts)-1].Sub(ts[0]))
	}
	mu.Unlock()
	sort.Slice(spreads, func(i, j int) bool { return spreads[i] < spreads[j] })
	perMinute := float64(len(ids)) / took.Minutes()
	b.Logf("%d replica(s): %d streams held, %d jobs final in %v (%.0f jobs/min); final state to every stream p50 %v, max %v",
		n, streams, len(ids), took.Round(time.Millisecond), perMinute, spreads[len(spreads)/2], spreads[len(spreads)-1])
	return perMinute, spreads[len(spreads)/2]
}
