package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
	"scribe/media/mediatest"
	"scribe/proctest"
)

// TestRestartMidFlight kills the app (a real SIGKILL of a real process)
// while jobs are in flight, one of them mid-submit, lets half of them
// finish upstream while it is down, and checks that after a restart on
// the same data every job converges, still with one upstream job per
// upload, and the user's session survives.
func TestRestartMidFlight(t *testing.T) {
	began := time.Now()
	const jobs = 20
	const hungIndex = 12
	dir := t.TempDir()
	names := make([]string, jobs)
	files := make([]string, jobs)
	plans := map[string]deepscripttest.Plan{}
	for i := range jobs {
		names[i] = fmt.Sprintf("restart-%03d.wav", i)
		files[i] = mediatest.Tone(t, dir, names[i], 300+float64(i)*11)
		p := deepscripttest.Plan{Hold: true, Duration: 200 * time.Millisecond, Fail: i%7 == 3}
		if i%5 == 0 {
			p.Webhook = deepscripttest.WebhookDrop
		}
		p.SubmitHang = i == hungIndex
		plans[names[i]] = p
	}
	fake := deepscripttest.NewServer(t)
	fake.Plan = func(name string) deepscripttest.Plan { return plans[name] }
	env := mergeEnv(fakeEnv(fake), fastBackstop, map[string]string{"SCRIBE_ADDR": freeAddr(t), "SCRIBE_DATA_DIR": t.TempDir()})

	first := startProcess(t, env, "first run")
	alice := newUser(t, &first.testApp, "alice@example.com")
	ids := make([]string, jobs)
	for i := range jobs {
		ids[i] = uploadFile(t, alice, &first.testApp, files[i])
	}
	select {
	case name := <-fake.Hung():
		if name != names[hungIndex] {
			t.Fatalf("submit of %s hung, want %s", name, names[hungIndex])
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the submit of %s never reached the upstream", names[hungIndex])
	}
	createdBefore := fake.JobCount()
	first.Kill()

	// Half the jobs finish while the app is down: their webhooks meet a
	// closed port, are retried a little and given up.
	fake.Release(names[:jobs/2]...)
	eventually(t, 20*time.Second, "jobs released during the outage final upstream, deliveries given up", func() (bool, string) {
		for i := range jobs / 2 {
			up, ok := fake.JobByKey(ids[i])
			if ok && !up.Status.Final() {
				return false, fmt.Sprintf("job %d is %s upstream", i, up.Status)
			}
		}
		n := fake.DeliveriesInFlight()
		return n == 0, fmt.Sprintf("%d deliveries in flight", n)
	})
	lost := 0
	for _, d := range fake.Deliveries() {
		if d.Status == 0 {
			lost++
		}
	}
	if lost == 0 {
		t.Error("no webhook delivery failed while the app was down; the test does not exercise lost webhooks")
	}

	second := startProcess(t, env, "second run")
	t.Run("SessionSurvives", func(t *testing.T) {
		body, _, status := download(t, alice, second.URL+"/")
		if got, want := status, http.StatusOK; got != want {
			t.Fatalf("home page with the cookie from before the crash: status %d, want %d", got, want)
		}
		if !strings.Contains(body, "alice@example.com") {
			t.Errorf("home page after the restart does not show the signed-in user")
		}
	})
	fake.Release(names[jobs/2:]...)
	final := waitAllFinal(t, &second.testApp, fake, ids, func(int) *http.Client { return alice }, time.Minute)

	t.Run("FinalStateIsUpstreams", func(t *testing.T) {
		for i, id := range ids {
			up, _ := fake.JobByKey(id)
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
			creates, _ := fake.Creates(id)
			if got, want := creates, 1; got != want {
				t.Errorf("job %d: %d upstream jobs for its Idempotency-Key, want %d", i, got, want)
			}
		}
		if got, want := fake.JobCount(), jobs; got != want {
			t.Errorf("upstream holds %d jobs, want %d", got, want)
		}
		if _, attempts := fake.Creates(ids[hungIndex]); attempts < 2 {
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

// TestShutdownEndsStreams stops the app, its embedded engine included,
// while browsers hold event streams: run must end the streams before it
// drains HTTP, return promptly and leave no goroutine behind. (How one
// stream ends when draining begins is tested in handlers.)
func TestShutdownEndsStreams(t *testing.T) {
	before := runtime.NumGoroutine()
	app := startApp(t, nil)
	c := newUser(t, app, "ada@example.com")
	var bodies []*http.Response
	for range 3 {
		resp, err := c.Get(app.URL + "/events")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, resp)
	}
	start := time.Now()
	app.Stop()
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("shutdown took %v with open streams", took)
	}
	for _, b := range bodies {
		b.Body.Close()
	}
	c.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after shutdown:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// procApp is scribe running as a child process, so it can be SIGKILLed.
type procApp struct {
	testApp
	proc *proctest.Process
}

// Kill ends the app with SIGKILL, as a crash or the OOM killer would, and
// waits for it.
func (p *procApp) Kill() { p.proc.Kill() }

// freeAddr finds a loopback address that is free now, so an app and its
// restarted successor can share it (and so their webhook URL).
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProcess runs the app as a child process, with env added to the
// environment, and waits until it listens. The process is this test binary
// again, which TestMain turns into the app. Its output is kept and shown if
// the test fails.
func startProcess(t testing.TB, env map[string]string, label string) *procApp {
	t.Helper()
	env = mergeEnv(env, map[string]string{"SCRIBE_TEST_MAIN": "1"})
	p := proctest.Start(t, []string{"serve"}, env, "scribe: listening on ", label)
	return &procApp{testApp: testApp{URL: p.URL}, proc: p}
}
