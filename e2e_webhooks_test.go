package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"scribe/deepscript/deepscripttest"
	"scribe/media/mediatest"
)

// hookEvent is one request a webhook receiver got, verified with the
// Standard Webhooks reference library.
type hookEvent struct {
	ID   string
	Type string          `json:"type"`
	Time time.Time       `json:"timestamp"`
	Data json.RawMessage `json:"data"`
}

// hookReceiver is a user's webhook endpoint on loopback. hold, while set,
// makes it keep requests open until the client goes away.
type hookReceiver struct {
	*httptest.Server
	secret string

	mu     sync.Mutex
	events []hookEvent
	bad    []string
	hold   bool
	held   chan string // webhook-ids of requests being held
}

func newHookReceiver(t *testing.T) *hookReceiver {
	rc := &hookReceiver{held: make(chan string, 16)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		wh, err := standardwebhooks.NewWebhook(rc.secret)
		if err == nil {
			err = wh.Verify(body, r.Header)
		}
		ev := hookEvent{}
		if err == nil {
			err = json.Unmarshal(body, &ev)
		}
		ev.ID = r.Header.Get("webhook-id")
		if err != nil {
			rc.bad = append(rc.bad, err.Error())
			rc.mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		rc.events = append(rc.events, ev)
		hold := rc.hold
		rc.mu.Unlock()
		if hold {
			rc.held <- ev.ID
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// register makes the receiver an endpoint of user c's for events, through
// the JSON API, and keeps the secret it answers.
func (rc *hookReceiver) register(t *testing.T, c *http.Client, app *testApp, events ...string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"url": rc.URL + "/hooks", "events": events})
	req, _ := http.NewRequest("POST", app.URL+"/api/webhooks", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ ID, Secret string }
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(out.Secret, "whsec_") {
		t.Fatalf("register webhook: status %d, secret %q", resp.StatusCode, out.Secret)
	}
	rc.mu.Lock()
	rc.secret = out.Secret
	rc.mu.Unlock()
}

func (rc *hookReceiver) snapshot() ([]hookEvent, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hookEvent(nil), rc.events...), append([]string(nil), rc.bad...)
}

// final is the receiver's job.completed or job.failed event for job id.
func (rc *hookReceiver) final(id string) (hookEvent, bool) {
	events, _ := rc.snapshot()
	for _, ev := range events {
		var data struct{ ID string }
		json.Unmarshal(ev.Data, &data)
		if data.ID == id && (ev.Type == "job.completed" || ev.Type == "job.failed") {
			return ev, true
		}
	}
	return hookEvent{}, false
}

// TestOutgoingWebhooks registers an endpoint, then finishes one job and
// fails another: each brings its event, verified with the reference
// library, whose data is the job as GET /jobs/{id} shows it.
func TestOutgoingWebhooks(t *testing.T) {
	dir := t.TempDir()
	good := mediatest.Tone(t, dir, "hook-good.wav", 440)
	bad := mediatest.Tone(t, dir, "hook-bad.wav", 330)
	fake := deepscripttest.NewServer(t)
	fake.Plan = func(name string) deepscripttest.Plan {
		return deepscripttest.Plan{Duration: 100 * time.Millisecond, Fail: name == "hook-bad.wav"}
	}
	app := startApp(t, mergeEnv(fakeEnv(fake), fastBackstop, map[string]string{"SCRIBE_WEBHOOK_ALLOW_PRIVATE": "1"}))
	alice := newUser(t, app, "alice@example.com")
	rc := newHookReceiver(t)
	rc.register(t, alice, app, "job.completed", "job.failed", "job.progress")

	ids := map[string]string{"job.completed": uploadFile(t, alice, app, good), "job.failed": uploadFile(t, alice, app, bad)}
	for want, id := range ids {
		t.Run(strings.TrimPrefix(want, "job."), func(t *testing.T) {
			waitFinal(t, alice, app, id, 30*time.Second)
			var ev hookEvent
			eventually(t, 10*time.Second, "the final event of "+id, func() (bool, string) {
				var ok bool
				ev, ok = rc.final(id)
				return ok, "none yet"
			})
			if ev.Type != want || ev.ID == "" || ev.Time.IsZero() {
				t.Errorf("event %s (id %q, timestamp %v), want %s", ev.Type, ev.ID, ev.Time, want)
			}
			req, _ := http.NewRequest("GET", app.URL+"/jobs/"+id, nil)
			req.Header.Set("Accept", "application/json")
			resp, err := alice.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			shown, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var got, wantData any
			json.Unmarshal(ev.Data, &got)
			json.Unmarshal(shown, &wantData)
			if fmt.Sprint(got) != fmt.Sprint(wantData) {
				t.Errorf("event data\n%s\nwant the job as GET /jobs/{id} shows it\n%s", ev.Data, shown)
			}
		})
	}
	if _, bad := rc.snapshot(); len(bad) > 0 {
		t.Errorf("%d deliveries failed verification: %s", len(bad), bad[0])
	}
}

// TestOutgoingWebhookSurvivesSIGKILL kills the app (a real SIGKILL)
// while its endpoint holds the job.completed delivery open: after a
// restart on the same data the event is delivered again, under the same
// webhook-id, so a receiver deduplicating by it acts once.
func TestOutgoingWebhookSurvivesSIGKILL(t *testing.T) {
	file := mediatest.Tone(t, t.TempDir(), "hook-kill.wav", 440)
	fake := deepscripttest.NewServer(t)
	fake.Plan = func(string) deepscripttest.Plan { return deepscripttest.Plan{Duration: 100 * time.Millisecond} }
	env := mergeEnv(fakeEnv(fake), fastBackstop, map[string]string{"SCRIBE_ADDR": freeAddr(t),
		"SCRIBE_DATA_DIR": t.TempDir(), "SCRIBE_WEBHOOK_ALLOW_PRIVATE": "1", "SCRIBE_SIGNUP": "open"})
	rc := newHookReceiver(t)
	rc.hold = true

	first := startProcess(t, env, "first run")
	alice := newUser(t, &first.testApp, "alice@example.com")
	rc.register(t, alice, &first.testApp, "job.completed")
	id := uploadFile(t, alice, &first.testApp, file)
	var heldID string
	select {
	case heldID = <-rc.held:
	case <-time.After(30 * time.Second):
		t.Fatal("the job.completed delivery never reached the endpoint")
	}
	first.Kill()

	rc.mu.Lock()
	rc.hold = false
	rc.mu.Unlock()
	second := startProcess(t, env, "second run")
	eventually(t, 15*time.Second, "the event delivered after the restart", func() (bool, string) {
		events, _ := rc.snapshot()
		return len(events) >= 2, fmt.Sprintf("%d requests", len(events))
	})
	events, bad := rc.snapshot()
	if len(bad) > 0 {
		t.Fatalf("verification failed: %v", bad)
	}
	if got, _ := rc.final(id); got.ID != heldID || events[1].ID != heldID {
		t.Errorf("after the restart the event came as %s, want %s, the webhook-id of the attempt the SIGKILL cut", events[1].ID, heldID)
	}
	if !bytes.Equal(events[0].Data, events[1].Data) {
		t.Errorf("the data changed across the restart:\n%s\n%s", events[0].Data, events[1].Data)
	}
	if j, _ := getJob(t, alice, &second.testApp, id); j.Status != "completed" {
		t.Errorf("job %s is %s after the restart", id, j.Status)
	}
}
