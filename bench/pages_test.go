package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// measurePages times the per-user pages for accounts of growing size,
// against the smallest.
func measurePages(t *testing.T) []row {
	sizes := []int{100, 1000, 10000}
	if *full {
		sizes = append(sizes, 100000)
	}
	var emails []string
	for _, n := range sizes {
		emails = append(emails, fmt.Sprintf("pages%d@example.com", n))
	}
	in := newInstall(t, emails...)
	for i, n := range sizes {
		in.seedJobs(t, emails[i], n, false)
	}
	p := in.start(t, nil)
	pages := []struct {
		name string
		time func(c *http.Client) time.Duration
	}{
		{"GET / (list page)", func(c *http.Client) time.Duration { return timeGET(t, c, p.URL+"/", "text/html") }},
		{"GET /jobs (JSON page of 50)", func(c *http.Client) time.Duration { return timeGET(t, c, p.URL+"/jobs?limit=50", "application/json") }},
		{"GET /events resumed from id 1", func(c *http.Client) time.Duration { return timeResume(t, c, p.URL+"/events") }},
		{"GET /delivery", func(c *http.Client) time.Duration { return timeGET(t, c, p.URL+"/delivery", "text/html") }},
	}
	var rows []row
	for _, page := range pages {
		var base time.Duration
		for i, n := range sizes {
			c := userClient(t, p.URL, emails[i], false)
			var times []time.Duration
			for range 15 {
				times = append(times, page.time(c))
			}
			d := median(times)
			if i == 0 {
				base = d
				continue
			}
			rows = append(rows, row{Measure: fmt.Sprintf("%s, %d jobs", page.name, n), Scribe: ms(d),
				Baseline: ms(base) + " at 100", Ratio: ratio(float64(d), float64(base)), Target: "≤ 2× at 100,000"})
		}
	}
	return rows
}

// timeGET is how long a GET of url takes, body included; a non-200 fails.
func timeGET(t *testing.T, c *http.Client, url, accept string) time.Duration {
	t.Helper()
	start := time.Now()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", accept)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := discard(resp)
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: status %d (%d bytes)", url, resp.StatusCode, n)
	}
	return d
}

// timeResume is how long a stream resumed from the oldest id takes to
// send what it replays: until its last event before a 300 ms lull.
func timeResume(t *testing.T, c *http.Client, url string) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	var last time.Time
	start := time.Now()
	if err := openStream(ctx, c, url, "1", func(jobEvent) {
		mu.Lock()
		last = time.Now()
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	for ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		l := last
		mu.Unlock()
		if !l.IsZero() && time.Since(l) > 300*time.Millisecond {
			return l.Sub(start)
		}
	}
	t.Errorf("%s resumed from id 1 sent no job event, or never stopped, in 20 s", url)
	return 0
}
