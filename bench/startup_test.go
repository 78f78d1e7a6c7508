package bench

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// upstreamCap is the bench's SCRIBE_MAX_UPSTREAM_STREAMS.
const upstreamCap = 100

// measureStartup starts the app with many processing jobs and counts the
// upstream event streams it opens: at most the cap at once, and spread
// out rather than all in the first second.
func measureStartup(t *testing.T) []row {
	const email = "startup@example.com"
	n := size(1000, 5000)
	in := newInstall(t, email)
	in.seedJobs(t, email, n, true)
	counter := newUpstreamCounter(t, in.fake.URL)
	p := in.start(t, map[string]string{"DEEPSCRIPT_URL": counter.srv.URL,
		"SCRIBE_MAX_UPSTREAM_STREAMS": strconv.Itoa(upstreamCap)})
	time.Sleep(time.Second)
	firstSecond := counter.streams.Load()
	time.Sleep(7 * time.Second)
	rss := p.RSS(t)
	maxOpen := counter.maxOpen.Load()
	if maxOpen > upstreamCap {
		t.Errorf("%d upstream streams open at once, over the cap of %d", maxOpen, upstreamCap)
	}
	return []row{
		{Measure: fmt.Sprintf("upstream streams open at once, %d active jobs at start", n), Scribe: fmt.Sprint(maxOpen),
			Baseline: fmt.Sprintf("%d (one per job, as before)", n), Ratio: ratio(float64(maxOpen), float64(n)), Target: fmt.Sprintf("≤ cap (%d)", upstreamCap)},
		{Measure: "upstream streams opened in the first second", Scribe: fmt.Sprint(firstSecond),
			Baseline: fmt.Sprint(n), Ratio: ratio(float64(firstSecond), float64(n)), Target: "paced: 20/s, bursts of 5, 0–250 ms jitter"},
		{Measure: "app RSS 8 s after start", Scribe: mib(rss), Baseline: "–", Ratio: "–", Target: "–"},
	}
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
