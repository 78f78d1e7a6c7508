package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
	"scribe/media/mediatest"
)

// TestConvergence runs 110 jobs of two users through an upstream that
// injects a seeded mix of faults per job, and checks that every job ends
// in the upstream's final state, with one upstream job per upload, its
// transcript in all four formats, bad webhooks refused, and no browser
// stream ever showing a job move backwards or another user's job.
func TestConvergence(t *testing.T) {
	began := time.Now()
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	const jobs = 110
	dir := t.TempDir()
	plans := map[string]deepscripttest.Plan{}
	files := make([]string, jobs)
	for i := range jobs {
		name := fmt.Sprintf("conv-%03d.wav", i)
		plans[name] = convergencePlan(rng, i)
		files[i] = mediatest.Tone(t, dir, name, 220+float64(i)*5)
	}
	fake := deepscripttest.NewServer(t)
	fake.Plan = func(name string) deepscripttest.Plan { return plans[name] }
	app := startApp(t, mergeEnv(fakeEnv(fake), fastBackstop))
	users := []*http.Client{newUser(t, app, "alice@example.com"), newUser(t, app, "bob@example.com")}
	owner := func(i int) int { return i % 2 }

	// The browser streams are open before the first upload and stay open
	// throughout, as a user's list page would.
	streamCtx, stopStreams := context.WithTimeout(context.Background(), 3*time.Minute)
	defer stopStreams()
	streams := followAliceAndBob(t, streamCtx, users, app.URL)

	// Upload from a few goroutines; every eighth job also gets a job page's
	// stream, opened right after its upload.
	ids := make([]string, jobs)
	var mu sync.Mutex
	jobStreams := map[string]<-chan jobStreamResult{}
	next := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range next {
				id, err := uploadAs(users[owner(i)], app.URL, files[i])
				if err != nil {
					t.Errorf("upload %d: %v", i, err)
					continue
				}
				mu.Lock()
				ids[i] = id
				if i%8 == 0 {
					jobStreams[id] = followJobStream(streamCtx, users[owner(i)], app.URL, id)
				}
				mu.Unlock()
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	uploaded := time.Since(began)

	final := waitAllFinal(t, app, fake, ids, func(i int) *http.Client { return users[owner(i)] }, 2*time.Minute)
	converged := time.Since(began)

	t.Run("FinalStateIsUpstreams", func(t *testing.T) {
		for i, id := range ids {
			up, _ := fake.JobByKey(id)
			j := final[id]
			if got, want := j.Status, string(up.Status); got != want {
				t.Errorf("job %d (%s, plan %+v): status %s, upstream says %s", i, id, up.Plan, got, want)
				continue
			}
			if j.CompletedVia == nil || !slices.Contains([]string{"webhook", "sse", "poll", "submit"}, *j.CompletedVia) {
				t.Errorf("job %d: completed_via %v, want webhook, sse, poll or submit", i, deref(j.CompletedVia))
			}
			if up.Status == deepscript.StatusFailed {
				if j.Error == nil || !strings.Contains(*j.Error, up.Error.Message) {
					t.Errorf("job %d: error %q, want it to carry the upstream's %q", i, deref(j.Error), up.Error.Message)
				}
			} else if j.Error != nil {
				t.Errorf("job %d: completed with error %q", i, *j.Error)
			}
		}
	})

	t.Run("TranscriptDownloads", func(t *testing.T) {
		for i, id := range ids {
			up, _ := fake.JobByKey(id)
			if up.Status != deepscript.StatusCompleted {
				continue
			}
			checkDownloads(t, users[owner(i)], app, id, up.Result)
		}
	})

	t.Run("OneUpstreamJobPerUpload", func(t *testing.T) {
		retried := 0
		for i, id := range ids {
			creates, attempts := fake.Creates(id)
			if got, want := creates, 1; got != want {
				t.Errorf("job %d (%s): %d upstream jobs created for its Idempotency-Key, want %d", i, id, got, want)
			}
			if want := minSubmitAttempts(plans[fmt.Sprintf("conv-%03d.wav", i)].SubmitFailures); attempts < want {
				t.Errorf("job %d: %d submit attempts, want at least %d", i, attempts, want)
			}
			if attempts > 1 {
				retried++
			}
		}
		if got, want := fake.JobCount(), jobs; got != want {
			t.Errorf("upstream holds %d jobs, want %d", got, want)
		}
		t.Logf("%d jobs needed more than one submit attempt", retried)
	})

	t.Run("BadSignaturesRejected", func(t *testing.T) {
		byKind := map[deepscripttest.DeliveryKind]int{}
		for _, d := range fake.Deliveries() {
			byKind[d.Kind]++
			if !d.Kind.Forged() {
				if d.Status < 200 || d.Status > 299 {
					t.Errorf("%s delivery %s (%s, attempt %d) answered %d %s, want 2xx", d.Kind, d.WebhookID, d.Event, d.Attempt, d.Status, d.Err)
				}
			} else if got, want := d.Status, http.StatusUnauthorized; got != want {
				t.Errorf("%s delivery %s answered %d %s, want %d", d.Kind, d.WebhookID, got, d.Err, want)
			}
		}
		for _, k := range []deepscripttest.DeliveryKind{deepscripttest.ForgedSignature, deepscripttest.StaleTimestamp, deepscripttest.FutureTimestamp} {
			if byKind[k] == 0 {
				t.Errorf("no %s delivery was sent; the plan should include some", k)
			}
		}
		t.Logf("deliveries: %d genuine, %d late replays, %d forged, %d stale, %d future (all refused with 401)",
			byKind[deepscripttest.Genuine], byKind[deepscripttest.Replay], byKind[deepscripttest.ForgedSignature],
			byKind[deepscripttest.StaleTimestamp], byKind[deepscripttest.FutureTimestamp])
	})

	t.Run("LostWebhookAndCutStreamEndViaPoll", func(t *testing.T) {
		n := 0
		for i, id := range ids {
			p := plans[fmt.Sprintf("conv-%03d.wav", i)]
			if p.Webhook != deepscripttest.WebhookDrop || p.SSE != deepscripttest.SSENoFinal {
				continue
			}
			n++
			// A create replayed after the job finished learns the end from
			// its answer instead.
			if got := deref(final[id].CompletedVia); got != "poll" && got != "submit" {
				t.Errorf("job %d had no webhook and no final stream event, yet completed_via %q, want poll or submit", i, got)
			}
		}
		if n == 0 {
			t.Error("no job had both its webhook dropped and its stream cut")
		}
		polls := pollAnswers(fake)
		if polls[http.StatusInternalServerError] == 0 || polls[http.StatusTooManyRequests] == 0 {
			t.Errorf("status polls answered %v; want some 500s and some 429s among them", polls)
		}
	})

	t.Run("UserStreamsNeverRegress", func(t *testing.T) { checkUserStreams(t, streams, ids, owner, final) })

	t.Run("JobStreamsEndAfterFinal", func(t *testing.T) {
		if len(jobStreams) == 0 {
			t.Fatal("no job streams were opened")
		}
		for id, ch := range jobStreams {
			var res jobStreamResult
			select {
			case res = <-ch:
			case <-time.After(30 * time.Second):
				t.Fatalf("job stream %s still open 30 s after every job ended", id)
			}
			for _, p := range res.problems {
				t.Errorf("job stream %s: %s", id, p)
			}
			if len(res.states) == 0 {
				continue
			}
			if got, want := res.states[len(res.states)-1].Status, final[id].Status; got != want {
				t.Errorf("job stream %s ended on %s, want %s", id, got, want)
			}
			if got, want := res.resumeStatus, http.StatusNoContent; got != want {
				t.Errorf("job stream %s: reconnect with Last-Event-ID after the final event got %d, want %d", id, got, want)
			}
		}
	})

	stopStreams()
	for _, s := range streams {
		<-s.done
	}
	via := map[string]int{}
	for _, j := range final {
		via[deref(j.CompletedVia)]++
	}
	rejected := 0
	for _, d := range fake.Deliveries() {
		if d.Kind.Forged() && d.Status == http.StatusUnauthorized {
			rejected++
		}
	}
	polls := pollAnswers(fake)
	t.Logf("seed %d: %d jobs (%d users) uploaded in %v, all final after %v; ended via webhook %d, sse %d, poll %d, submit answer %d; "+
		"%d forged/stale/future webhooks rejected; status polls %d ok, %d answered 500, %d answered 429; "+
		"%d job streams checked; browser stream reconnects %d/%d; total %v",
		seed, jobs, len(users), uploaded.Round(time.Millisecond), converged.Round(time.Millisecond),
		via["webhook"], via["sse"], via["poll"], via["submit"], rejected, polls[http.StatusOK], polls[http.StatusInternalServerError],
		polls[http.StatusTooManyRequests], len(jobStreams),
		streams[0].connections()-1, streams[1].connections()-1, time.Since(began).Round(time.Millisecond))
}

// convergencePlan picks job i's fate and faults. Every tenth job can end
// only through the backstop poll; a few more make sure each kind of bad
// delivery and a lost submit answer occur whatever the seed.
func convergencePlan(rng *rand.Rand, i int) deepscripttest.Plan {
	p := deepscripttest.Plan{Duration: time.Duration(200+rng.IntN(1800)) * time.Millisecond, Segments: 2 + rng.IntN(2)}
	if rng.Float64() < 0.15 {
		p.Fail = true
		p.ErrorCode = []string{"internal", "unsupported_media"}[rng.IntN(2)]
	}
	if rng.Float64() < 0.2 {
		faults := []deepscripttest.SubmitFault{deepscripttest.Submit500, deepscripttest.Submit503, deepscripttest.Submit429, deepscripttest.SubmitReset, deepscripttest.SubmitLostAnswer}
		for range 1 + rng.IntN(2) {
			p.SubmitFailures = append(p.SubmitFailures, faults[rng.IntN(len(faults))])
		}
	}
	switch r := rng.Float64(); {
	case r < 0.15:
		p.Webhook = deepscripttest.WebhookDrop
	case r < 0.25:
		p.Webhook = deepscripttest.WebhookTwice
	case r < 0.35:
		p.Webhook = deepscripttest.WebhookConcurrent
	}
	for _, k := range []deepscripttest.DeliveryKind{deepscripttest.ForgedSignature, deepscripttest.StaleTimestamp, deepscripttest.FutureTimestamp} {
		if rng.Float64() < 0.1 {
			p.Forge = append(p.Forge, k)
		}
	}
	p.LateReplay = p.Webhook != deepscripttest.WebhookDrop && rng.Float64() < 0.15
	switch r := rng.Float64(); {
	case r < 0.1:
		p.SSE = deepscripttest.SSECutOnce
	case r < 0.2:
		p.SSE = deepscripttest.SSENoFinal
	case r < 0.3:
		p.SSE = deepscripttest.SSEGaps
	case r < 0.4:
		p.SSE = deepscripttest.SSEReplayAll
	}
	if rng.Float64() < 0.15 {
		p.StatusErrors = 2
	}
	if rng.Float64() < 0.15 {
		p.StatusLimited = 2
	}
	switch i % 10 {
	case 0:
		p.Webhook, p.SSE, p.LateReplay = deepscripttest.WebhookDrop, deepscripttest.SSENoFinal, false
		// These are sure to be polled, so the poll faults are sure to occur.
		if i%20 == 0 {
			p.StatusErrors = max(p.StatusErrors, 2)
		} else {
			p.StatusLimited = max(p.StatusLimited, 2)
		}
	case 1:
		p.Forge = append(p.Forge, deepscripttest.ForgedSignature)
	case 2:
		p.Forge = append(p.Forge, deepscripttest.StaleTimestamp)
	case 3:
		p.Forge = append(p.Forge, deepscripttest.FutureTimestamp)
	case 4:
		p.SubmitFailures = append([]deepscripttest.SubmitFault{deepscripttest.SubmitLostAnswer}, p.SubmitFailures...)
	}
	return p
}

// minSubmitAttempts is how many submit attempts a job's planned faults
// force: one per fault and the one that succeeds, except that a lost answer
// creates the job upstream, and its webhook may then adopt the job before
// any further attempt.
func minSubmitAttempts(faults []deepscripttest.SubmitFault) int {
	for i, f := range faults {
		if f == deepscripttest.SubmitLostAnswer {
			return i + 1
		}
	}
	return len(faults) + 1
}

// testSeed is the seed of the job plans: SCRIBE_TEST_SEED, or a fixed one.
func testSeed(t *testing.T) uint64 {
	if v := os.Getenv("SCRIBE_TEST_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SCRIBE_TEST_SEED=%q: %v", v, err)
		}
		return s
	}
	return 20261127
}

// pollAnswers counts the fake's /status answers by HTTP status.
func pollAnswers(fake *deepscripttest.Server) map[int]int {
	n := map[int]int{}
	for _, p := range fake.Polls() {
		n[p.Status]++
	}
	return n
}
