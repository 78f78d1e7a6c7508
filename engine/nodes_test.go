package engine

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/pgtest"
	"scribe/proctest"
	"scribe/sqldb"
)

// nodeProcessEnv, set to 1, makes this test binary run `scribe engine`
// (Main, with the SCRIBE_ENGINE_* environment) instead of the tests:
// startNode starts it as a child process it can SIGKILL.
const nodeProcessEnv = "SCRIBE_ENGINE_TEST_NODE"

func runNodeProcess() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Main(ctx, nil, os.Getenv, os.Stdout); err != nil {
		os.Stderr.WriteString("engine: " + err.Error() + "\n")
		return 1
	}
	return 0
}

// storageURL is the file:// URL of a directory.
func storageURL(dir string) string { return (&url.URL{Scheme: "file", Path: dir}).String() }

// nodeProcess is an engine node running as a child process.
type nodeProcess struct {
	*testEngine
	*proctest.Process
	dataDir string
}

// startNode runs `scribe engine` as a child process with env added to the
// environment, and waits until it serves. Its output is shown if the test
// fails.
func startNode(t *testing.T, env map[string]string, label string) *nodeProcess {
	t.Helper()
	with := map[string]string{nodeProcessEnv: "1"}
	for k, v := range env {
		with[k] = v
	}
	p := proctest.Start(t, nil, with, "engine: serving the DeepScript API at ", label)
	return &nodeProcess{testEngine: &testEngine{t: t, base: p.URL}, Process: p, dataDir: env["SCRIBE_ENGINE_DATA_DIR"]}
}

// longClip is about 27 s of flite speech: the short clip and 0.8 s of
// silence, nine times, so it is recognised in many utterances and its
// progress moves every second or so. It is made on first use.
var longClip = sync.OnceValues(func() (string, error) {
	padded, path := filepath.Join(clips.dir, "padded.wav"), filepath.Join(clips.dir, "long.wav")
	for _, args := range [][]string{
		{"-i", clips.short, "-af", "apad=pad_dur=0.8", padded},
		{"-stream_loop", "8", "-i", padded, "-c", "copy", path},
	} {
		out, err := exec.Command("ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("ffmpeg %v: %v: %s", args, err, out)
		}
	}
	return path, nil
})

// TestNodeKilledMidJob runs two real engine processes on one PostgreSQL
// and one storage directory, with a 3 s lease: a job submitted to node A
// is being recognised (pocketsphinx, real speech) by one of them while an
// SSE client on the other watches its progress; the runner is SIGKILLed;
// the other takes the job when the lease runs out and completes it, once,
// and its webhook is delivered.
func TestNodeKilledMidJob(t *testing.T) {
	clip, err := longClip()
	if err != nil {
		t.Fatal(err)
	}
	db, shared := pgtest.URL(t), t.TempDir()
	start := func(label string) *nodeProcess {
		return startNode(t, map[string]string{
			"SCRIBE_ENGINE_ADDR":          "127.0.0.1:0",
			"SCRIBE_ENGINE_DATA_DIR":      t.TempDir(),
			"SCRIBE_ENGINE_DATABASE_URL":  db,
			"SCRIBE_ENGINE_STORAGE_URL":   storageURL(shared),
			"SCRIBE_ENGINE_API_KEY":       testAPIKey,
			"SCRIBE_ENGINE_LEASE":         "3s",
			"SCRIBE_ENGINE_WORKERS":       "1",
			"SCRIBE_ENGINE_WEBHOOK_RETRY": "100ms,500ms,1s",
		}, label)
	}
	a, b := start("node A"), start("node B")
	rc := newReceiver(t)
	rc.setSecret(a.registerWebhook(rc.URL, deepscript.EventCompleted, deepscript.EventFailed).Secret)
	tr := a.mustSubmit(clip, map[string]string{"webhook_url": rc.URL})
	waitProgress(t, b.testEngine, tr.ID, 60*time.Second)
	runner, other := a, b
	if leaseOwner(t, db, tr.ID) == nodeIDOf(t, b) {
		runner, other = b, a
	}

	liveFromRunner := make(chan struct{})
	var once sync.Once
	streamed := make(chan sseStreamResult, 1)
	go func() {
		seen := 0
		streamed <- other.readEvents(tr.ID, "", 3*time.Minute, func(ev sseEvent) bool {
			if seen++; seen > 1 && ev.Event == deepscript.EventProgress {
				once.Do(func() { close(liveFromRunner) }) // a change the runner made, live on the other
			}
			return false
		})
	}()
	select {
	case <-liveFromRunner:
	case <-time.After(30 * time.Second):
		t.Fatal("the stream on the other node saw no live progress of the running job")
	}
	if st := other.transcription(tr.ID, false); st.Status != deepscript.StatusProcessing || st.Progress <= 0 {
		t.Fatalf("before the kill: %+v, want processing with some progress", st)
	}
	runner.Kill()

	res := <-streamed
	if n := len(res.Events); n == 0 || res.Events[n-1].Event != deepscript.EventCompleted {
		t.Fatalf("the stream on the other node did not end with completion: %+v", res.Events)
	}
	done := other.waitStatus(tr.ID, deepscript.StatusCompleted, 10*time.Second)
	if done.Result == nil || strings.Count(done.Result.Text, "hello world") < 6 {
		t.Errorf("result %+v, want the clip's words", done.Result)
	}
	if owner := leaseOwner(t, db, tr.ID); owner != "" {
		t.Errorf("lease owner %q after completion, want none", owner)
	}

	t.Run("CompletedOnce", func(t *testing.T) {
		all := other.readEvents(tr.ID, "0", 10*time.Second, nil)
		checkSequence(t, all.Events, 1)
		completed := 0
		for _, ev := range all.Events {
			if ev.Event == deepscript.EventCompleted {
				completed++
			}
		}
		if completed != 1 {
			t.Errorf("%d completed events, want 1", completed)
		}
	})
	t.Run("WebhookAtLeastOnce", func(t *testing.T) {
		got := rc.waitFor(t, 1, 30*time.Second)
		ids := map[string]bool{}
		for _, d := range got {
			if d.VerifyErr != nil {
				t.Errorf("delivery %s: %v", d.ID, d.VerifyErr)
			}
			if d.Event.ID != tr.ID || d.Event.Event != deepscript.EventCompleted {
				t.Errorf("delivery %+v, want %s completed", d.Event, tr.ID)
			}
			ids[d.ID] = true
		}
		if len(ids) != 1 {
			t.Errorf("%d webhook-ids, want 1 event: %+v", len(ids), got)
		}
	})
}

// leaseOwner reads which node holds a job, from the shared database.
func leaseOwner(t *testing.T, databaseURL, id string) string {
	t.Helper()
	db, err := sqldb.OpenPostgres(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var owner string
	if err := db.QueryRow(`SELECT lease_owner FROM transcriptions WHERE id = $1`, id).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	return owner
}

// nodeIDOf is the lease owner name a node process keeps in its data dir.
func nodeIDOf(t *testing.T, n *nodeProcess) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(n.dataDir, "node-id"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitProgress waits until the job is processing with some progress.
func waitProgress(t *testing.T, e *testEngine, id string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := e.transcription(id, false)
		if st.Status == deepscript.StatusProcessing && st.Progress > 0 {
			return
		}
		if st.Status.Final() || time.Now().After(deadline) {
			t.Fatalf("job %s is %s at %v, want processing with progress", id, st.Status, st.Progress)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTwoNodes runs two engines in this process on one PostgreSQL and one
// storage directory: either node answers for the other's jobs and
// webhooks, a stream on B follows a job A runs (and resumes exactly from
// Last-Event-ID), and a delete on one node stops the job and the streams
// on the other.
func TestTwoNodes(t *testing.T) {
	db, shared := pgtest.URL(t), storageURL(t.TempDir())
	recA := &scripted{perSecond: 250 * time.Millisecond, blockFrom: 2}
	recB := &scripted{blockFrom: 1} // B never finishes a job
	node := func(rec *scripted) func(*Config) {
		return func(c *Config) {
			c.DatabaseURL, c.StorageURL, c.Lease, c.Recognizer = db, shared, time.Second, rec
		}
	}
	a := startEngine(t, node(recA))
	rc := newReceiver(t)
	ep := a.registerWebhook(rc.URL, deepscript.EventCompleted)
	rc.setSecret(ep.Secret)
	tr := a.mustSubmit(clips.ten, map[string]string{"webhook_url": rc.URL})
	a.waitStatus(tr.ID, deepscript.StatusProcessing, 5*time.Second)
	b := startEngine(t, node(recB))

	live := b.readEvents(tr.ID, "", 20*time.Second, nil)
	n := len(live.Events)
	if n < 3 || live.Events[n-1].Event != deepscript.EventCompleted {
		t.Fatalf("stream on B: %+v, want live progress then completion of the job A runs", live.Events)
	}
	checkSequence(t, live.Events, atoi(t, live.Events[0].ID))
	if got := b.transcription(tr.ID, true); got.Status != deepscript.StatusCompleted || got.Result == nil {
		t.Errorf("B answers %+v, want A's result", got)
	}
	if recB.calls.Load() != 0 {
		t.Errorf("B ran %d jobs, want none", recB.calls.Load())
	}

	t.Run("ResumeOnOtherNode", func(t *testing.T) {
		from := live.Events[1]
		resumed := b.readEvents(tr.ID, from.ID, 5*time.Second, nil)
		if got, want := len(resumed.Events), n-2; got != want {
			t.Fatalf("resumed from %s: %d events, want %d", from.ID, got, want)
		}
		for i, ev := range resumed.Events {
			if ev.ID != live.Events[i+2].ID {
				t.Errorf("resumed event %d is %s, want %s", i, ev.ID, live.Events[i+2].ID)
			}
		}
		if status, _ := a.request(http.MethodGet, "/v1/transcriptions/"+tr.ID+"/events", nil,
			http.Header{"Last-Event-ID": {live.Events[n-1].ID}}); status != http.StatusNoContent {
			t.Errorf("resume at the final event on A: %d, want 204", status)
		}
	})
	t.Run("WebhookFromA", func(t *testing.T) {
		got := rc.waitFor(t, 1, 5*time.Second)
		if got[0].VerifyErr != nil || got[0].Event.ID != tr.ID {
			t.Errorf("delivery %+v", got[0])
		}
	})
	t.Run("WebhooksOnEitherNode", func(t *testing.T) {
		status, body := b.request(http.MethodGet, "/v1/webhooks", nil, nil)
		if status != http.StatusOK || !strings.Contains(string(body), ep.ID) {
			t.Fatalf("list on B: %d %s, want %s", status, body, ep.ID)
		}
		if status, body := b.postJSON("/v1/webhooks", deepscript.CreateWebhookRequest{URL: rc.URL, Events: []string{deepscript.EventFailed}}); status != http.StatusConflict {
			t.Errorf("the same URL on B: %d %s, want 409", status, body)
		}
		other := b.registerWebhook(rc.URL+"/other", deepscript.EventCompleted)
		if status, _ := a.request(http.MethodDelete, "/v1/webhooks/"+other.ID, nil, nil); status != http.StatusNoContent {
			t.Errorf("delete on A of B's endpoint: %d", status)
		}
	})
	t.Run("DeleteStopsOtherNode", func(t *testing.T) {
		job := b.mustSubmit(clips.short, nil) // whichever node takes it blocks
		deadline := time.Now().Add(5 * time.Second)
		for recA.active.Load()+recB.active.Load() != 1 {
			if time.Now().After(deadline) {
				t.Fatal("no node took the job")
			}
			time.Sleep(10 * time.Millisecond)
		}
		// The stream is on the node that runs the job, the delete on the
		// other: both the stop and the end of the stream cross nodes.
		runner, other := a, b
		if recB.active.Load() == 1 {
			runner, other = b, a
		}
		opened, closed := make(chan struct{}), make(chan sseStreamResult, 1)
		var once sync.Once
		go func() {
			closed <- runner.readEvents(job.ID, "", 10*time.Second, func(sseEvent) bool {
				once.Do(func() { close(opened) })
				return false
			})
		}()
		select {
		case <-opened:
		case res := <-closed:
			t.Fatalf("the stream ended at once: %+v", res)
		}
		if status, _ := other.request(http.MethodDelete, "/v1/transcriptions/"+job.ID, nil, nil); status != http.StatusNoContent {
			t.Fatalf("delete: %d", status)
		}
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the stream on the running node stayed open after the delete on the other")
		}
		// The running node learns it at its next lease renewal (a third
		// of the 1 s lease).
		deadline = time.Now().Add(5 * time.Second)
		for recA.active.Load()+recB.active.Load() > 0 {
			if time.Now().After(deadline) {
				t.Fatal("the deleted job still runs")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if status, _ := runner.request(http.MethodGet, "/v1/transcriptions/"+job.ID, nil, nil); status != http.StatusNotFound {
			t.Errorf("GET on the running node after the delete: %d, want 404", status)
		}
	})
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
