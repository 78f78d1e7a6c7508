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
// upstream event streams it holds open at once, capped and (the
// baseline) with a cap as large as the number of jobs.
func measureStartup(t *testing.T) []row {
	const email = "startup@example.com"
	n := size(1000, 5000)
	in := newInstall(t, email)
	in.seedJobs(t, email, n, true)
	run := func(limit int) (maxOpen int64, rss int64) {
		counter := newUpstreamCounter(t, in.fake.URL)
		p := in.start(t, map[string]string{"DEEPSCRIPT_URL": counter.srv.URL,
			"SCRIBE_MAX_UPSTREAM_STREAMS": strconv.Itoa(limit)})
		time.Sleep(5 * time.Second)
		rss = p.RSS(t)
		p.Stop()
		return counter.maxOpen.Load(), rss
	}
	capped, cappedRSS := run(upstreamCap)
	uncapped, uncappedRSS := run(n)
	if capped > upstreamCap {
		t.Errorf("%d upstream streams open at once, over the cap of %d", capped, upstreamCap)
	}
	return []row{
		{Measure: fmt.Sprintf("upstream streams open at start, %d active jobs", n), Scribe: fmt.Sprintf("%d (cap %d)", capped, upstreamCap), Baseline: fmt.Sprintf("%d (cap %d)", uncapped, n), Ratio: ratio(float64(capped), float64(uncapped)), Target: "≤ cap"},
		{Measure: "app RSS 5 s after start", Scribe: mib(cappedRSS), Baseline: mib(uncappedRSS), Ratio: ratio(float64(cappedRSS), float64(uncappedRSS)), Target: "–"},
	}
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
