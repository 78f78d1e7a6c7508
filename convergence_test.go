package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/job"
)

// These tests boot the whole app with run (or, for the crash, as a real
// process) against fakeUpstream and check that every job converges to the
// upstream's final state however its news arrives: issue 2.

// fastBackstop makes the backstop poll find jobs whose webhook is lost
// within about a second.
var fastBackstop = map[string]string{"SCRIBE_POLL_INTERVAL": "200ms", "SCRIBE_STALE_AFTER": "1s"}

// TestConvergence runs 110 jobs of two users through an upstream that
// injects a seeded mix of faults per job, and checks that every job ends
// in the upstream's final state, with one upstream job per upload, its
// transcript in all four formats, bad webhooks refused, other users kept
// out, and no browser stream ever showing a job move backwards.
func TestConvergence(t *testing.T) {
	began := time.Now()
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	const jobs = 110
	dir := t.TempDir()
	plans := map[string]jobPlan{}
	files := make([]string, jobs)
	for i := range jobs {
		name := fmt.Sprintf("conv-%03d.wav", i)
		plans[name] = convergencePlan(rng, i)
		files[i] = writeTone(t, dir, name, 220+float64(i)*5)
	}
	fake := newFakeUpstream(t)
	fake.Plan = func(name string) jobPlan { return plans[name] }
	app := startApp(t, mergeEnv(fake.env(), fastBackstop))
	users := []*http.Client{newUser(t, app, "alice@example.com"), newUser(t, app, "bob@example.com")}
	owner := func(i int) int { return i % 2 }

	// The browser streams are open before the first upload and stay open
	// throughout, as a user's list page would.
	streamCtx, stopStreams := context.WithTimeout(context.Background(), 3*time.Minute)
	defer stopStreams()
	streams := []*userStream{
		followUserStream(streamCtx, users[0], app.URL, "alice /events"),
		followUserStream(streamCtx, users[1], app.URL, "bob /events"),
	}
	eventually(t, 10*time.Second, "user streams connected", func() (bool, string) {
		a, b := streams[0].connections(), streams[1].connections()
		return a > 0 && b > 0, fmt.Sprintf("connections %d and %d", a, b)
	})

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
			up, _ := fake.jobByKey(id)
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
			up, _ := fake.jobByKey(id)
			if up.Status != deepscript.StatusCompleted {
				continue
			}
			checkDownloads(t, users[owner(i)], app, id, up.Result)
		}
	})

	t.Run("OneUpstreamJobPerUpload", func(t *testing.T) {
		retried := 0
		for i, id := range ids {
			creates, attempts := fake.createsFor(id)
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
		if got, want := fake.jobCount(), jobs; got != want {
			t.Errorf("upstream holds %d jobs, want %d", got, want)
		}
		t.Logf("%d jobs needed more than one submit attempt", retried)
	})

	t.Run("BadSignaturesRejected", func(t *testing.T) {
		byKind := map[string]int{}
		for _, d := range fake.allDeliveries() {
			byKind[d.Kind]++
			switch d.Kind {
			case "valid", "replay":
				if d.Status < 200 || d.Status > 299 {
					t.Errorf("valid delivery %s (%s, attempt %d) answered %d %s, want 2xx", d.WebhookID, d.Event, d.Attempt, d.Status, d.Err)
				}
			default:
				if got, want := d.Status, http.StatusUnauthorized; got != want {
					t.Errorf("%s delivery %s answered %d %s, want %d", d.Kind, d.WebhookID, got, d.Err, want)
				}
			}
		}
		for _, k := range []forgeKind{forgeSignature, forgeStale, forgeFuture} {
			if byKind[string(k)] == 0 {
				t.Errorf("no %s delivery was sent; the plan should include some", k)
			}
		}
		t.Logf("deliveries: %d valid, %d late replays, %d forged, %d stale, %d future (all refused with 401)",
			byKind["valid"], byKind["replay"], byKind[string(forgeSignature)], byKind[string(forgeStale)], byKind[string(forgeFuture)])
	})

	t.Run("LostWebhookAndCutStreamEndViaPoll", func(t *testing.T) {
		n := 0
		for i, id := range ids {
			p := plans[fmt.Sprintf("conv-%03d.wav", i)]
			if p.Webhook != webhookDrop || p.SSE != sseNoFinal {
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
		polls := fake.polls()
		if polls[http.StatusInternalServerError] == 0 || polls[http.StatusTooManyRequests] == 0 {
			t.Errorf("status polls answered %v; want some 500s and some 429s among them", polls)
		}
	})

	t.Run("UserStreamsNeverRegress", func(t *testing.T) {
		for u, s := range streams {
			mine := map[string]bool{}
			for i, id := range ids {
				if owner(i) == u {
					mine[id] = true
				}
			}
			eventually(t, 15*time.Second, s.name+" shows every final state", func() (bool, string) {
				missing := s.missingFinals(mine, final)
				return len(missing) == 0, fmt.Sprintf("%d jobs without their final state, e.g. %v", len(missing), firstN(missing, 3))
			})
			for _, p := range s.problemList() {
				t.Errorf("%s: %s", s.name, p)
			}
			for _, id := range s.jobIDs() {
				if !mine[id] {
					t.Errorf("%s showed job %s of another user", s.name, id)
				}
			}
		}
	})

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

	t.Run("OtherUsersGet404", func(t *testing.T) {
		for i := range 6 {
			checkOtherUserGets404(t, users[1-owner(i)], users[owner(i)], app, ids[i])
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
	for _, d := range fake.allDeliveries() {
		if d.Kind != "valid" && d.Kind != "replay" && d.Status == http.StatusUnauthorized {
			rejected++
		}
	}
	polls := fake.polls()
	t.Logf("seed %d: %d jobs (%d users) uploaded in %v, all final after %v; ended via webhook %d, sse %d, poll %d, submit answer %d; "+
		"%d forged/stale/future webhooks rejected; status polls %d ok, %d answered 500, %d answered 429; "+
		"%d job streams checked; browser stream reconnects %d/%d; total %v",
		seed, jobs, len(users), uploaded.Round(time.Millisecond), converged.Round(time.Millisecond),
		via["webhook"], via["sse"], via["poll"], via["submit"], rejected, polls[0], polls[http.StatusInternalServerError],
		polls[http.StatusTooManyRequests], len(jobStreams),
		streams[0].connections()-1, streams[1].connections()-1, time.Since(began).Round(time.Millisecond))
}

// convergencePlan picks job i's fate and faults. Every tenth job can end
// only through the backstop poll; a few more make sure each kind of bad
// delivery and a lost submit answer occur whatever the seed.
func convergencePlan(rng *rand.Rand, i int) jobPlan {
	p := jobPlan{Duration: time.Duration(200+rng.IntN(1800)) * time.Millisecond, Segments: 2 + rng.IntN(2)}
	if rng.Float64() < 0.15 {
		p.Fail = true
		p.ErrorCode = []string{"internal", "unsupported_media"}[rng.IntN(2)]
	}
	if rng.Float64() < 0.2 {
		faults := []submitFault{submit500, submit503, submit429, submitReset, submitLostAnswer}
		for range 1 + rng.IntN(2) {
			p.SubmitFailures = append(p.SubmitFailures, faults[rng.IntN(len(faults))])
		}
	}
	switch r := rng.Float64(); {
	case r < 0.15:
		p.Webhook = webhookDrop
	case r < 0.25:
		p.Webhook = webhookTwice
	case r < 0.35:
		p.Webhook = webhookConcurrent
	}
	for _, k := range []forgeKind{forgeSignature, forgeStale, forgeFuture} {
		if rng.Float64() < 0.1 {
			p.Forge = append(p.Forge, k)
		}
	}
	p.LateReplay = p.Webhook != webhookDrop && rng.Float64() < 0.15
	switch r := rng.Float64(); {
	case r < 0.1:
		p.SSE = sseCutOnce
	case r < 0.2:
		p.SSE = sseNoFinal
	case r < 0.3:
		p.SSE = sseGaps
	case r < 0.4:
		p.SSE = sseReplayAll
	}
	if rng.Float64() < 0.15 {
		p.StatusErrors = 2
	}
	if rng.Float64() < 0.15 {
		p.StatusLimited = 2
	}
	switch i % 10 {
	case 0:
		p.Webhook, p.SSE, p.LateReplay = webhookDrop, sseNoFinal, false
		// These are sure to be polled, so the poll faults are sure to occur.
		if i%20 == 0 {
			p.StatusErrors = max(p.StatusErrors, 2)
		} else {
			p.StatusLimited = max(p.StatusLimited, 2)
		}
	case 1:
		p.Forge = append(p.Forge, forgeSignature)
	case 2:
		p.Forge = append(p.Forge, forgeStale)
	case 3:
		p.Forge = append(p.Forge, forgeFuture)
	case 4:
		p.SubmitFailures = append([]submitFault{submitLostAnswer}, p.SubmitFailures...)
	}
	return p
}

// TestRestartMidFlight kills the app (a real SIGKILL of a real process)
// while jobs are in flight, one of them mid-submit, lets half of them
// finish upstream while it is down, and checks that after a restart on
// the same data every job converges, still with one upstream job per
// upload, and the user's session survives.
func TestRestartMidFlight(t *testing.T) {
	began := time.Now()
	bin := buildScribe(t)
	const jobs = 20
	const hungIndex = 12
	dir := t.TempDir()
	names := make([]string, jobs)
	files := make([]string, jobs)
	plans := map[string]jobPlan{}
	for i := range jobs {
		names[i] = fmt.Sprintf("restart-%03d.wav", i)
		files[i] = writeTone(t, dir, names[i], 300+float64(i)*11)
		p := jobPlan{Hold: true, Duration: 200 * time.Millisecond, Fail: i%7 == 3}
		if i%5 == 0 {
			p.Webhook = webhookDrop
		}
		p.SubmitHang = i == hungIndex
		plans[names[i]] = p
	}
	fake := newFakeUpstream(t)
	fake.Plan = func(name string) jobPlan { return plans[name] }
	env := mergeEnv(fake.env(), fastBackstop, map[string]string{"SCRIBE_ADDR": freeAddr(t), "SCRIBE_DATA_DIR": t.TempDir()})

	first := startBinary(t, bin, env, "first run")
	alice := newUser(t, &first.testApp, "alice@example.com")
	ids := make([]string, jobs)
	for i := range jobs {
		ids[i] = uploadFile(t, alice, &first.testApp, files[i])
	}
	select {
	case name := <-fake.hung:
		if name != names[hungIndex] {
			t.Fatalf("submit of %s hung, want %s", name, names[hungIndex])
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the submit of %s never reached the upstream", names[hungIndex])
	}
	createdBefore := fake.jobCount()
	first.kill()

	// Half the jobs finish while the app is down: their webhooks meet a
	// closed port, are retried a little and given up.
	fake.release(names[:jobs/2]...)
	eventually(t, 20*time.Second, "jobs released during the outage final upstream, deliveries given up", func() (bool, string) {
		for i := range jobs / 2 {
			up, ok := fake.jobByKey(ids[i])
			if ok && !up.Status.Final() {
				return false, fmt.Sprintf("job %d is %s upstream", i, up.Status)
			}
		}
		n := fake.deliveriesInFlight()
		return n == 0, fmt.Sprintf("%d deliveries in flight", n)
	})
	lost := 0
	for _, d := range fake.allDeliveries() {
		if d.Status == 0 {
			lost++
		}
	}
	if lost == 0 {
		t.Error("no webhook delivery failed while the app was down; the test does not exercise lost webhooks")
	}

	second := startBinary(t, bin, env, "second run")
	t.Run("SessionSurvives", func(t *testing.T) {
		body, _, status := download(t, alice, second.URL+"/")
		if got, want := status, http.StatusOK; got != want {
			t.Fatalf("home page with the cookie from before the crash: status %d, want %d", got, want)
		}
		if !strings.Contains(body, "alice@example.com") {
			t.Errorf("home page after the restart does not show the signed-in user")
		}
	})
	fake.release(names[jobs/2:]...)
	final := waitAllFinal(t, &second.testApp, fake, ids, func(int) *http.Client { return alice }, time.Minute)

	t.Run("FinalStateIsUpstreams", func(t *testing.T) {
		for i, id := range ids {
			up, _ := fake.jobByKey(id)
			if got, want := final[id].Status, string(up.Status); got != want {
				t.Errorf("job %d: status %s, upstream says %s", i, got, want)
			}
			if up.Status == deepscript.StatusCompleted {
				checkDownloads(t, alice, &second.testApp, id, up.Result)
			}
		}
	})
	t.Run("OneUpstreamJobPerUpload", func(t *testing.T) {
		for i, id := range ids {
			creates, _ := fake.createsFor(id)
			if got, want := creates, 1; got != want {
				t.Errorf("job %d: %d upstream jobs for its Idempotency-Key, want %d", i, got, want)
			}
		}
		if got, want := fake.jobCount(), jobs; got != want {
			t.Errorf("upstream holds %d jobs, want %d", got, want)
		}
		if _, attempts := fake.createsFor(ids[hungIndex]); attempts < 2 {
			t.Errorf("the job whose submit hung was sent %d times, want a resubmit after the restart", attempts)
		}
	})
	via := map[string]int{}
	for _, j := range final {
		via[deref(j.CompletedVia)]++
	}
	t.Logf("%d jobs, %d created upstream before the SIGKILL, %d delivery attempts lost while down; after restart ended via webhook %d, sse %d, poll %d; total %v",
		jobs, createdBefore, lost, via["webhook"], via["sse"], via["poll"], time.Since(began).Round(time.Millisecond))
}

// ---- helpers ----

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

func mergeEnv(envs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, e := range envs {
		for k, v := range e {
			out[k] = v
		}
	}
	return out
}

// eventually calls check until it reports true, failing the test with the
// last thing it saw if that takes longer than within.
func eventually(t *testing.T, within time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, saw := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last saw %s", what, within, saw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeTone writes 300 ms of a sine tone as a 16-bit mono WAV.
func writeTone(t *testing.T, dir, name string, hz float64) string {
	t.Helper()
	const rate = 8000
	samples := rate * 3 / 10
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+2*samples))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		binary.Write(&b, le, v) // fmt chunk: PCM, mono, 8 kHz, 16 bit
	}
	b.WriteString("data")
	binary.Write(&b, le, uint32(2*samples))
	for i := range samples {
		binary.Write(&b, le, int16(8000*math.Sin(2*math.Pi*hz*float64(i)/rate)))
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// uploadAs posts one file to /jobs as the page's script does and returns
// the job id; unlike uploadFile it may run on any goroutine.
func uploadAs(c *http.Client, appURL, path string) (string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", filepath.Base(path))
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", appURL+"/jobs", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var body struct {
		Jobs []struct{ ID string } `json:"jobs"`
	}
	if err := json.Unmarshal(b, &body); err != nil || len(body.Jobs) != 1 {
		return "", fmt.Errorf("answer %s: %v", b, err)
	}
	return body.Jobs[0].ID, nil
}

// waitAllFinal polls the app until every job is final and returns their
// states; on timeout it fails with each unfinished job's state here and
// upstream.
func waitAllFinal(t *testing.T, app *testApp, fake *fakeUpstream, ids []string, client func(i int) *http.Client, within time.Duration) map[string]jobState {
	t.Helper()
	final := map[string]jobState{}
	last := map[string]jobState{}
	deadline := time.Now().Add(within)
	for {
		for i, id := range ids {
			if _, done := final[id]; done {
				continue
			}
			j, status := getJob(t, client(i), app, id)
			if status != http.StatusOK {
				t.Fatalf("job %d (%s): status %d from its owner", i, id, status)
			}
			last[id] = j
			if job.Status(j.Status).Final() {
				final[id] = j
			}
		}
		if len(final) == len(ids) {
			return final
		}
		if time.Now().After(deadline) {
			var lines []string
			for i, id := range ids {
				if _, done := final[id]; !done {
					up, _ := fake.jobByKey(id)
					lines = append(lines, fmt.Sprintf("job %d %s: here %+v; upstream %s %s (plan %+v, %d polls, %d streams)",
						i, id, last[id], up.ID, up.Status, up.Plan, up.Polls, up.SSEConns))
				}
			}
			t.Fatalf("%d of %d jobs not final after %v:\n%s", len(lines), len(ids), within, strings.Join(lines, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkDownloads fetches the four transcript formats and checks each
// carries the upstream's text.
func checkDownloads(t *testing.T, c *http.Client, app *testApp, id string, want *deepscript.Result) {
	t.Helper()
	if want == nil {
		t.Errorf("job %s: the upstream has no result to compare", id)
		return
	}
	for ext, ctype := range map[string]string{"txt": "text/plain", "srt": "application/x-subrip", "vtt": "text/vtt", "json": "application/json"} {
		body, ct, status := download(t, c, app.URL+"/jobs/"+id+"/transcript."+ext)
		if status != http.StatusOK {
			t.Errorf("job %s transcript.%s: status %d, want 200", id, ext, status)
			continue
		}
		if !strings.HasPrefix(ct, ctype) {
			t.Errorf("job %s transcript.%s: Content-Type %q, want %s", id, ext, ct, ctype)
		}
		if ext == "json" {
			var got deepscript.Result
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Errorf("job %s transcript.json: %v", id, err)
			} else if got.Text != want.Text || len(got.Segments) != len(want.Segments) {
				t.Errorf("job %s transcript.json: text %q with %d segments, want %q with %d", id, got.Text, len(got.Segments), want.Text, len(want.Segments))
			}
			continue
		}
		for _, s := range want.Segments {
			if !strings.Contains(body, s.Text) {
				t.Errorf("job %s transcript.%s lacks %q: %.300s", id, ext, s.Text, body)
			}
		}
	}
}

// checkOtherUserGets404 tries every job route as a user who does not own
// the job, then checks the owner still has it.
func checkOtherUserGets404(t *testing.T, other, owner *http.Client, app *testApp, id string) {
	t.Helper()
	if _, status := getJob(t, other, app, id); status != http.StatusNotFound {
		t.Errorf("GET /jobs/%s as JSON as another user: %d, want 404", id, status)
	}
	for _, path := range []string{"", "/events", "/audio", "/transcript.txt", "/transcript.srt", "/transcript.vtt", "/transcript.json"} {
		if _, _, status := download(t, other, app.URL+"/jobs/"+id+path); status != http.StatusNotFound {
			t.Errorf("GET /jobs/%s%s as another user: %d, want 404", id, path, status)
		}
	}
	for _, path := range []string{"/delete", "/retry"} {
		resp, err := other.Post(app.URL+"/jobs/"+id+path, "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST /jobs/%s%s as another user: %d, want 404", id, path, resp.StatusCode)
		}
	}
	if _, status := getJob(t, owner, app, id); status != http.StatusOK {
		t.Errorf("owner lost job %s after another user's attempts: %d", id, status)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// firstN is at most the first n elements of s.
func firstN[T any](s []T, n int) []T { return s[:min(n, len(s))] }

// ---- browser event streams ----

// sseMessage is one event read from a stream.
type sseMessage struct{ id, event, data string }

// readSSE calls fn for each event until the body ends.
func readSSE(r io.Reader, fn func(sseMessage)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var m sseMessage
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if data != nil {
				m.data = strings.Join(data, "\n")
				fn(m)
			}
			m, data = sseMessage{}, nil
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			m.id = value
		case "event":
			m.event = value
		case "data":
			data = append(data, value)
		}
	}
	return sc.Err()
}

// streamClient shares c's session but has no overall timeout, which
// would cut a long stream.
func streamClient(c *http.Client) *http.Client {
	return &http.Client{Jar: c.Jar, CheckRedirect: c.CheckRedirect}
}

func openStream(ctx context.Context, c *http.Client, url, lastID string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	return c.Do(req)
}

// forwardOnly checks that the states a stream shows for each job only
// move forward: status by rank, a final status never changes, progress
// never decreases within a status.
type forwardOnly struct {
	last     map[string]jobState
	problems []string
}

func (f *forwardOnly) observe(j jobState) {
	if f.last == nil {
		f.last = map[string]jobState{}
	}
	prev, seen := f.last[j.ID]
	f.last[j.ID] = j
	if !seen {
		return
	}
	was, now := job.Status(prev.Status), job.Status(j.Status)
	switch {
	case now.Rank() < was.Rank():
		f.problems = append(f.problems, fmt.Sprintf("job %s went back from %s to %s", j.ID, was, now))
	case was.Final() && now != was:
		f.problems = append(f.problems, fmt.Sprintf("job %s changed final state %s to %s", j.ID, was, now))
	case now == was && j.Progress < prev.Progress:
		f.problems = append(f.problems, fmt.Sprintf("job %s progress went back from %.2f to %.2f while %s", j.ID, prev.Progress, j.Progress, now))
	}
}

// TestForwardOnly checks the checker the stream tests rely on.
func TestForwardOnly(t *testing.T) {
	for _, tc := range []struct {
		name   string
		states []jobState
		bad    bool
	}{
		{"Forward", []jobState{{Status: "queued"}, {Status: "processing", Progress: 0.1}, {Status: "processing", Progress: 0.5}, {Status: "completed", Progress: 1}}, false},
		{"Repeated", []jobState{{Status: "processing", Progress: 0.5}, {Status: "processing", Progress: 0.5}}, false},
		{"StatusBack", []jobState{{Status: "processing"}, {Status: "queued"}}, true},
		{"ProgressBack", []jobState{{Status: "processing", Progress: 0.5}, {Status: "processing", Progress: 0.4}}, true},
		{"FinalChanged", []jobState{{Status: "completed", Progress: 1}, {Status: "failed"}}, true},
		{"AfterFinal", []jobState{{Status: "failed"}, {Status: "processing"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f forwardOnly
			for _, j := range tc.states {
				j.ID = "j_1"
				f.observe(j)
			}
			if got, want := len(f.problems) > 0, tc.bad; got != want {
				t.Errorf("problems %q, want some: %v", f.problems, want)
			}
		})
	}
}

// userStream follows a user's GET /events as EventSource would,
// reconnecting with Last-Event-ID whenever it ends.
type userStream struct {
	name string
	done chan struct{}

	mu       sync.Mutex
	check    forwardOnly
	connects int
}

func followUserStream(ctx context.Context, c *http.Client, appURL, name string) *userStream {
	s := &userStream{name: name, done: make(chan struct{})}
	sc := streamClient(c)
	go func() {
		defer close(s.done)
		lastID := ""
		for ctx.Err() == nil {
			resp, err := openStream(ctx, sc, appURL+"/events", lastID)
			if err == nil {
				if resp.StatusCode == http.StatusOK {
					s.mu.Lock()
					s.connects++
					s.mu.Unlock()
					readSSE(resp.Body, func(m sseMessage) {
						var j jobState
						if err := json.Unmarshal([]byte(m.data), &j); err != nil {
							s.problem(fmt.Sprintf("unreadable event %q: %v", m.data, err))
							return
						}
						s.mu.Lock()
						s.check.observe(j)
						s.mu.Unlock()
						lastID = m.id
					})
				} else if ctx.Err() == nil {
					s.problem(fmt.Sprintf("stream answered %d", resp.StatusCode))
				}
				resp.Body.Close()
			}
			// EventSource's reconnect delay, shortened.
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *userStream) problem(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.check.problems = append(s.check.problems, p)
}

func (s *userStream) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connects
}

func (s *userStream) problemList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.check.problems...)
}

func (s *userStream) jobIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.check.last {
		ids = append(ids, id)
	}
	return ids
}

// missingFinals lists the jobs in ids whose final state the stream has
// not shown yet.
func (s *userStream) missingFinals(ids map[string]bool, final map[string]jobState) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var missing []string
	for id := range ids {
		if got, ok := s.check.last[id]; !ok || got.Status != final[id].Status {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	return missing
}

// jobStreamResult is what a job page's stream showed.
type jobStreamResult struct {
	states       []jobState
	connects     int
	resumeStatus int // the answer to a reconnect with Last-Event-ID after the final event
	problems     []string
}

// followJobStream follows GET /jobs/{id}/events until it closes after the
// final state, reconnecting with Last-Event-ID if it ends before, then
// reconnects once more to see the 204 that tells EventSource to stop.
func followJobStream(ctx context.Context, c *http.Client, appURL, id string) <-chan jobStreamResult {
	out := make(chan jobStreamResult, 1)
	sc := streamClient(c)
	go func() {
		var res jobStreamResult
		var check forwardOnly
		defer func() {
			res.problems = append(res.problems, check.problems...)
			out <- res
		}()
		lastID, sawFinal := "", false
		for ctx.Err() == nil {
			resp, err := openStream(ctx, sc, appURL+"/jobs/"+id+"/events", lastID)
			if err != nil {
				select {
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
			if sawFinal {
				resp.Body.Close()
				res.resumeStatus = resp.StatusCode
				return
			}
			if resp.StatusCode != http.StatusOK {
				resp.Body.Close()
				res.problems = append(res.problems, fmt.Sprintf("answered %d before a final state", resp.StatusCode))
				return
			}
			res.connects++
			readSSE(resp.Body, func(m sseMessage) {
				var j jobState
				if err := json.Unmarshal([]byte(m.data), &j); err != nil {
					res.problems = append(res.problems, fmt.Sprintf("unreadable event %q", m.data))
					return
				}
				if sawFinal {
					res.problems = append(res.problems, fmt.Sprintf("event after the final one: %+v", j))
				}
				if j.ID != id {
					res.problems = append(res.problems, fmt.Sprintf("event for job %s", j.ID))
				}
				check.observe(j)
				res.states = append(res.states, j)
				lastID = m.id
				sawFinal = sawFinal || job.Status(j.Status).Final()
			})
			resp.Body.Close()
			if sawFinal && ctx.Err() != nil {
				res.problems = append(res.problems, "stream stayed open after the final event")
				return
			}
		}
		if !sawFinal {
			res.problems = append(res.problems, "no final state before the deadline")
		}
	}()
	return out
}

// ---- the app as a real process ----

// procApp is scribe running as a child process, so it can be SIGKILLed.
type procApp struct {
	testApp
	cmd    *exec.Cmd
	exited chan struct{}
}

// buildScribe builds the app's binary into a temporary directory.
func buildScribe(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "scribe")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freeAddr finds a loopback address that is free now, so an app and its
// restarted successor can share it (and so their webhook URL).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startBinary runs the built app with env added to the environment and
// waits until it listens. Its output is kept and shown if the test fails.
func startBinary(t *testing.T, bin string, env map[string]string, label string) *procApp {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &procApp{cmd: cmd, exited: make(chan struct{})}
	var logMu sync.Mutex
	var logs []string
	urls := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			logs = append(logs, line)
			logMu.Unlock()
			if rest, ok := strings.CutPrefix(line, "scribe: listening on "); ok {
				select {
				case urls <- strings.Fields(rest)[0]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() {
		cmd.Wait()
		pw.Close()
		<-scanned
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			logMu.Lock()
			defer logMu.Unlock()
			t.Logf("%s output (last 150 lines):\n%s", label, strings.Join(logs[max(0, len(logs)-150):], "\n"))
		}
	})
	select {
	case p.URL = <-urls:
	case <-p.exited:
		t.Fatalf("%s exited before listening", label)
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not listen within 60 s", label)
	}
	return p
}

// kill ends the process with SIGKILL, as a crash or the OOM killer would,
// and waits for it.
func (p *procApp) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.exited
}

// minSubmitAttempts is how many submit attempts a job's planned faults
// force: one per fault and the one that succeeds, except that a lost answer
// creates the job upstream, and its webhook may then adopt the job before
// any further attempt.
func minSubmitAttempts(faults []submitFault) int {
	for i, f := range faults {
		if f == submitLostAnswer {
			return i + 1
		}
	}
	return len(faults) + 1
}
