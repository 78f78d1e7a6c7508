package bench

import (
	"context"
	"fmt"
	"net/http"
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
		{"GET /events (first event)", func(c *http.Client) time.Duration { return timeFirstEvent(t, c, p.URL+"/events") }},
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

// timeFirstEvent is how long a stream takes to send its first job event.
func timeFirstEvent(t *testing.T, c *http.Client, url string) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first := make(chan time.Time, 1)
	start := time.Now()
	if err := openStream(ctx, c, url, "", func(jobEvent) {
		select {
		case first <- time.Now():
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-first:
		return at.Sub(start)
	case <-ctx.Done():
		t.Errorf("%s sent no job event in 10 s", url)
		return 0
	}
}
