package engine

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"

	"scribe/deepscript"
)

func TestRestart(t *testing.T) {
	dir := t.TempDir()
	rc := newReceiver(t)
	rc.failFirst = 1 // the first attempt fails, the retry is due after the restart

	// First run: one worker stuck on job 1, job 2 queued behind it, and
	// a webhook for job 0 that failed once and waits for its retry.
	cfgA := testConfig(t, dir)
	cfgA.Recognizer = &scripted{blockFrom: 2} // job 0 finishes, job 1 hangs
	// The retry waits an hour, so however slow this machine is it cannot
	// fire before the restart; the second run's clock is two hours ahead,
	// so there it is due at once.
	cfgA.WebhookRetry = []time.Duration{time.Hour}
	a := startEngineWith(t, cfgA)
	rc.setSecret(a.registerWebhook(rc.URL, deepscript.EventCompleted).Secret)

	job0 := a.mustSubmit(clips.other, map[string]string{"webhook_url": rc.URL})
	a.waitStatus(job0.ID, deepscript.StatusCompleted, 5*time.Second)
	firstAttempt := rc.waitFor(t, 1, 5*time.Second)[0]

	job1 := a.mustSubmit(clips.short, map[string]string{"webhook_url": rc.URL})
	a.waitStatus(job1.ID, deepscript.StatusProcessing, 5*time.Second)
	job2 := a.mustSubmit(clips.ten, map[string]string{"webhook_url": rc.URL})
	before := a.readEvents(job1.ID, "0", 2*time.Second, func(ev sseEvent) bool { return ev.Data.Status == deepscript.StatusProcessing })

	stopStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(stopStart); d > 3*time.Second {
		t.Errorf("Shutdown took %s with a job running", d)
	}
	if got := len(rc.deliveries()); got != 1 {
		t.Fatalf("%d webhook attempts before the restart, want 1", got)
	}

	// Second run on the same data dir with a recognizer that finishes.
	cfgB := testConfig(t, dir)
	cfgB.WebhookRetry = cfgA.WebhookRetry
	cfgB.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	b := startEngineWith(t, cfgB)
	done1 := b.waitStatus(job1.ID, deepscript.StatusCompleted, 10*time.Second)
	b.waitStatus(job2.ID, deepscript.StatusCompleted, 10*time.Second)
	if done1.Result == nil || done1.Result.Text != "hello world" {
		t.Errorf("job 1 after restart: %+v", done1)
	}

	t.Run("EventsContinue", func(t *testing.T) {
		after := b.readEvents(job1.ID, "0", 5*time.Second, nil)
		checkSequence(t, after.Events, 1)
		if len(after.Events) <= len(before.Events) {
			t.Fatalf("events after restart %+v, before %+v", after.Events, before.Events)
		}
		for i, ev := range before.Events {
			if after.Events[i].ID != ev.ID || after.Events[i].Event != ev.Event {
				t.Errorf("event %d changed across the restart: %+v, was %+v", i, after.Events[i], ev)
			}
		}
		for _, ev := range after.Events {
			if ev.Data.Status.Rank() < deepscript.StatusProcessing.Rank() && ev.ID != "1" {
				t.Errorf("status went back: %+v", ev)
			}
		}
		// Resuming from the last id the first run sent works too.
		resumed := b.readEvents(job1.ID, before.Events[len(before.Events)-1].ID, 5*time.Second, nil)
		n, _ := strconv.Atoi(before.Events[len(before.Events)-1].ID)
		checkSequence(t, resumed.Events, n+1)
	})
	t.Run("Deliveries", func(t *testing.T) {
		got := rc.waitFor(t, 4, 10*time.Second)
		byJob := map[string][]delivered{}
		for _, d := range got {
			if d.VerifyErr != nil {
				t.Errorf("delivery %s does not verify: %v", d.ID, d.VerifyErr)
			}
			byJob[d.Event.ID] = append(byJob[d.Event.ID], d)
		}
		if r := byJob[job0.ID]; len(r) != 2 || r[1].ID != firstAttempt.ID || r[1].Status != http.StatusOK {
			t.Errorf("job 0 deliveries %+v: want the retry after the restart with webhook-id %s", r, firstAttempt.ID)
		}
		for _, id := range []string{job1.ID, job2.ID} {
			if r := byJob[id]; len(r) != 1 || r[0].Event.Event != deepscript.EventCompleted {
				t.Errorf("job %s deliveries %+v, want one completed", id, r)
			}
		}
	})
}

func TestRestartReleasesInFlightDelivery(t *testing.T) {
	dir := t.TempDir()
	rc := newReceiver(t)
	rc.hang = make(chan struct{}) // holds the request until the engine stops
	cfg := testConfig(t, dir)
	cfg.WebhookRetry = []time.Duration{time.Hour} // a counted failure would wait an hour
	a := startEngineWith(t, cfg)
	rc.setSecret(a.registerWebhook(rc.URL, deepscript.EventCompleted).Secret)
	tr := a.mustSubmit(clips.short, map[string]string{"webhook_url": rc.URL})
	first := rc.waitFor(t, 1, 5*time.Second)[0]
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.hang = nil
	rc.mu.Unlock()

	startEngineWith(t, testConfig(t, dir))
	second := rc.waitFor(t, 2, 5*time.Second)[1]
	if second.ID != first.ID || second.Event.ID != tr.ID || second.VerifyErr != nil {
		t.Errorf("after restart: %+v, want the same webhook-id %s for %s", second, first.ID, tr.ID)
	}
}

func TestShutdownLeavesNoGoroutines(t *testing.T) { onBothBackends(t, testShutdownLeavesNoGoroutines) }

func testShutdownLeavesNoGoroutines(t *testing.T) {
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(50 * time.Millisecond)
	baseline := runtime.NumGoroutine()

	gate := make(chan struct{})
	cfg := testConfig(t, t.TempDir())
	cfg.Recognizer = &scripted{gate: gate}
	cfg.DatabaseURL = databaseFor(t)
	srv, err := Start(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	e := &testEngine{Server: srv, t: t, cfg: cfg, base: srv.URL()}
	rc := newReceiver(t)
	rc.setSecret(e.registerWebhook(rc.URL, deepscript.EventCompleted).Secret)
	tr := e.mustSubmit(clips.short, map[string]string{"webhook_url": rc.URL})
	e.waitStatus(tr.ID, deepscript.StatusProcessing, 5*time.Second)
	streamDone := make(chan sseStreamResult)
	go func() { streamDone <- e.readEvents(tr.ID, "", 10*time.Second, nil) }()
	time.Sleep(100 * time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case <-streamDone: // the open SSE stream was ended
	case <-time.After(5 * time.Second):
		t.Fatal("SSE stream still open after Shutdown")
	}
	http.DefaultClient.CloseIdleConnections()
	rc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines after Shutdown, %d before:\n%s", runtime.NumGoroutine(), baseline, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// testConfig is startEngine's configuration on dir.
func testConfig(t *testing.T, dir string) Config {
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = dir
	cfg.APIKey = testAPIKey
	cfg.Workers = 1
	cfg.WebhookRetry = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
	cfg.WebhookTimeout = 2 * time.Second
	cfg.Recognizer = &scripted{}
	return cfg
}
