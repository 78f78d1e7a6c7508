package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"scribe/job"
	"scribe/store"
	"scribe/store/storetest"
)

// fastConfig retries within milliseconds, so a test sees many attempts.
var fastConfig = Config{AllowPrivate: true, RetryBase: 20 * time.Millisecond, Poll: 10 * time.Millisecond,
	Timeout: 500 * time.Millisecond}

// jobData stands in for the handlers' job JSON, which this package must
// not import.
func jobData(j job.Job) any { return map[string]any{"id": j.ID, "status": j.Status} }

// event is what a receiver got in one request, after verifying it with
// the Standard Webhooks library.
type event struct {
	ID   string
	Body []byte
	Type string
	Data struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
}

// receiver is a webhook endpoint that verifies every request with the
// Standard Webhooks reference library and acts on each job.completed once,
// deduplicating by webhook-id: from the request whose webhook-id came
// actFrom times before on, it acts unless it did already. answer then
// decides what each request is answered, by how many times its webhook-id
// came before.
type receiver struct {
	*httptest.Server
	t       *testing.T
	secret  string
	answer  func(w http.ResponseWriter, r *http.Request, seen int) // nil: 204
	actFrom int

	mu       sync.Mutex
	requests []event
	effects  map[string]int  // job id → times its completion was acted on
	seen     map[string]int  // webhook-id → requests
	handled  map[string]bool // webhook-ids acted on
	bad      []string        // requests that failed verification
}

func newReceiver(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, seen int)) *receiver {
	rc := &receiver{t: t, secret: NewSecret(), answer: answer, effects: map[string]int{}, seen: map[string]int{},
		handled: map[string]bool{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	wh, err := standardwebhooks.NewWebhook(rc.secret)
	if err == nil {
		err = wh.Verify(body, r.Header)
	}
	var ev event
	if err == nil {
		err = json.Unmarshal(body, &ev)
	}
	ev.ID, ev.Body = r.Header.Get("webhook-id"), body
	rc.mu.Lock()
	if err != nil {
		rc.bad = append(rc.bad, err.Error())
		rc.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rc.requests = append(rc.requests, ev)
	seen := rc.seen[ev.ID]
	rc.seen[ev.ID]++
	if seen >= rc.actFrom && !rc.handled[ev.ID] && ev.Type == string(job.EventCompleted) {
		rc.handled[ev.ID] = true
		rc.effects[ev.Data.ID]++ // the receiver's work, done once per webhook-id
	}
	rc.mu.Unlock()
	if rc.answer != nil {
		rc.answer(w, r, seen)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) snapshot() ([]event, map[string]int, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	effects := map[string]int{}
	for k, v := range rc.effects {
		effects[k] = v
	}
	return append([]event(nil), rc.requests...), effects, append([]string(nil), rc.bad...)
}

// fixture is a store with a user whose endpoint is the receiver.
type fixture struct {
	s    *store.Store
	user store.User
	ep   store.HookEndpoint
}

func newFixture(t *testing.T, url, secret string, events ...job.Event) *fixture {
	s := storetest.Open(t)
	u := storetest.User(t, s, "alice@example.com")
	ep, err := s.CreateHookEndpoint(context.Background(), store.HookEndpoint{UserID: u.ID, URL: url, Secret: secret,
		Events: events})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{s: s, user: u, ep: ep}
}

// complete makes a job of the user's and completes it, which writes its
// job.completed event to the outbox.
func (f *fixture) complete(t *testing.T, id string) {
	t.Helper()
	storetest.SubmittedJob(t, f.s, f.user, id, "tr_"+id)
	_, _, err := f.s.ApplyUpdate(context.Background(), job.Update{UpstreamID: "tr_" + id, Status: job.StatusCompleted,
		Result: &job.Result{Text: "hello"}, Via: job.ViaWebhook})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) deliveries(t *testing.T) []store.HookDelivery {
	t.Helper()
	ds, err := f.s.HookDeliveries(context.Background(), f.user.ID, f.ep.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// start runs a dispatcher on the fixture's store until the test ends (or
// the returned stop is called, which waits for Run to return).
func (f *fixture) start(t *testing.T, cfg Config) (stop func()) {
	d := New(f.s, cfg, jobData, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return within 10 s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// eventually polls check until it holds or within passes, then fails with
// what check last said.
func eventually(t *testing.T, within time.Duration, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, saw := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, saw)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// allDelivered waits until every delivery of the fixture is delivered.
func (f *fixture) allDelivered(t *testing.T, n int, within time.Duration) []store.HookDelivery {
	t.Helper()
	var ds []store.HookDelivery
	eventually(t, within, func() (bool, string) {
		ds = f.deliveries(t)
		done := 0
		for _, d := range ds {
			if d.State == store.DeliveryDelivered {
				done++
			}
		}
		return len(ds) == n && done == n, fmt.Sprintf("%d of %d deliveries delivered", done, len(ds))
	})
	return ds
}

// TestReceiverFailsThenRecovers sends to a receiver that first answers
// 500, then does its work but answers too late (a timeout, to the sender),
// then acknowledges: every event arrives, verified, under one webhook-id
// and one body for all its attempts, and the receiver's deduplication
// leaves exactly one effect per job.
func TestReceiverFailsThenRecovers(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, seen int) {
		switch seen {
		case 0:
			http.Error(w, "database down", http.StatusInternalServerError)
		case 1:
			select { // too slow: the sender's timeout passes
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	rc.mu.Lock()
	rc.actFrom = 1 // the 500 does nothing; the slow answer comes after the work
	rc.mu.Unlock()
	f := newFixture(t, rc.URL+"/hooks", rc.secret, job.EventCompleted)
	const jobs = 6
	for i := range jobs {
		f.complete(t, fmt.Sprintf("j_%d", i))
	}
	began := time.Now()
	f.start(t, fastConfig)
	ds := f.allDelivered(t, jobs, 10*time.Second)
	t.Logf("%d events delivered on their third attempt in %v", jobs, time.Since(began).Round(time.Millisecond))

	requests, effects, bad := rc.snapshot()
	if len(bad) > 0 {
		t.Fatalf("%d requests failed Standard Webhooks verification: %v", len(bad), bad[0])
	}
	for i := range jobs {
		if got, want := effects[fmt.Sprintf("j_%d", i)], 1; got != want {
			t.Errorf("job j_%d: acted on %d times, want %d", i, got, want)
		}
	}
	bodies := map[string][]byte{}
	for _, ev := range requests {
		if b, ok := bodies[ev.ID]; ok && !bytes.Equal(b, ev.Body) {
			t.Errorf("webhook-id %s came with two bodies:\n%s\n%s", ev.ID, b, ev.Body)
		}
		bodies[ev.ID] = ev.Body
	}
	if got, want := len(requests), 3*jobs; got != want {
		t.Errorf("receiver got %d requests, want %d (three per event)", got, want)
	}
	for _, d := range ds {
		if d.Attempts != 3 || d.LastStatus != http.StatusOK || d.LastError != "" || !d.NextAttemptAt.IsZero() {
			t.Errorf("delivery %d: %d attempts, status %d, error %q, next %v; want 3 attempts ending 200",
				d.ID, d.Attempts, d.LastStatus, d.LastError, d.NextAttemptAt)
		}
	}
}

// TestFailedAttemptRecorded checks what the log says of a failing
// endpoint: the status, the start of its answer, and the next try.
func TestFailedAttemptRecorded(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, seen int) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "maintenance\n"+strings.Repeat("x", 100<<10))
	})
	f := newFixture(t, rc.URL, rc.secret, job.EventCompleted)
	f.complete(t, "j_1")
	cfg := fastConfig
	cfg.RetryBase = time.Hour // one attempt, then a long wait
	f.start(t, cfg)
	var d store.HookDelivery
	eventually(t, 5*time.Second, func() (bool, string) {
		d = f.deliveries(t)[0]
		return d.Attempts == 1, fmt.Sprintf("%d attempts", d.Attempts)
	})
	if d.State != store.DeliveryPending || d.LastStatus != http.StatusServiceUnavailable {
		t.Errorf("state %s, status %d; want pending after a 503", d.State, d.LastStatus)
	}
	if !strings.HasPrefix(d.LastError, "HTTP 503: maintenance x") || len(d.LastError) > 250 {
		t.Errorf("error %q (%d bytes), want the status and the start of the answer on one line", d.LastError[:min(80, len(d.LastError))], len(d.LastError))
	}
	if wait := d.NextAttemptAt.Sub(d.LastAttemptAt); wait < 48*time.Minute || wait > 72*time.Minute {
		t.Errorf("next try %v after the first, want an hour ±20 %%", wait)
	}
}

// TestResponseReadingCapped answers 200 and then an endless body: the
// attempt counts as delivered at once, reading stops at the cap, and the
// endpoint's writes fail once the connection is dropped.
func TestResponseReadingCapped(t *testing.T) {
	written := make(chan int64, 1)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, seen int) {
		w.WriteHeader(http.StatusOK)
		chunk := bytes.Repeat([]byte("y"), 32<<10)
		var n int64
		for {
			m, err := w.Write(chunk)
			n += int64(m)
			if err != nil {
				written <- n
				return
			}
		}
	})
	f := newFixture(t, rc.URL, rc.secret, job.EventCompleted)
	f.complete(t, "j_1")
	cfg := fastConfig
	cfg.Timeout = 10 * time.Second
	began := time.Now()
	f.start(t, cfg)
	d := f.allDelivered(t, 1, 5*time.Second)[0]
	if took := time.Since(began); took > 3*time.Second || d.Attempts != 1 {
		t.Errorf("delivered after %v and %d attempts; an endless answer must not hold the attempt", took, d.Attempts)
	}
	select {
	case n := <-written:
		// What the kernel buffers on loopback comes on top of what was read.
		t.Logf("the endpoint wrote %d KiB before its connection was dropped", n>>10)
		if n > 32<<20 {
			t.Errorf("the endpoint wrote %d MiB: reading was not capped", n>>20)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the endpoint could still write 5 s after the answer: its connection was not dropped")
	}
}

// TestRedirectNotFollowed: a redirect is a failed attempt, and its target
// never hears from scribe.
func TestRedirectNotFollowed(t *testing.T) {
	target := newReceiver(t, nil)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, seen int) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	})
	f := newFixture(t, rc.URL, rc.secret, job.EventCompleted)
	f.complete(t, "j_1")
	cfg := fastConfig
	cfg.RetryBase = time.Hour
	f.start(t, cfg)
	eventually(t, 5*time.Second, func() (bool, string) {
		d := f.deliveries(t)[0]
		return d.Attempts == 1 && d.LastStatus == http.StatusTemporaryRedirect, fmt.Sprintf("%d attempts, status %d", d.Attempts, d.LastStatus)
	})
	if requests, _, _ := target.snapshot(); len(requests) != 0 {
		t.Errorf("the redirect's target got %d requests", len(requests))
	}
}

// TestAddressGuard sends to a loopback receiver: refused at connection
// time without AllowPrivate, whether the URL names the address or a name
// that resolves to it, and delivered with it.
func TestAddressGuard(t *testing.T) {
	for _, tc := range []struct {
		name         string
		host         string
		allowPrivate bool
		delivered    bool
	}{
		{"LoopbackRefused", "127.0.0.1", false, false},
		{"NameResolvingToLoopbackRefused", "localhost", false, false},
		{"LoopbackAllowed", "127.0.0.1", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, nil)
			url := strings.Replace(rc.URL, "127.0.0.1", tc.host, 1)
			f := newFixture(t, url, rc.secret, job.EventCompleted)
			f.complete(t, "j_1")
			cfg := fastConfig
			cfg.AllowPrivate, cfg.RetryBase = tc.allowPrivate, time.Hour
			f.start(t, cfg)
			var d store.HookDelivery
			eventually(t, 5*time.Second, func() (bool, string) {
				d = f.deliveries(t)[0]
				return d.Attempts == 1, fmt.Sprintf("%d attempts", d.Attempts)
			})
			requests, _, _ := rc.snapshot()
			if got := d.State == store.DeliveryDelivered; got != tc.delivered {
				t.Errorf("state %s, error %q", d.State, d.LastError)
			}
			if tc.delivered {
				return
			}
			if len(requests) != 0 {
				t.Errorf("the receiver got %d requests", len(requests))
			}
			if !strings.Contains(d.LastError, "loopback or private address") || d.LastStatus != 0 {
				t.Errorf("error %q, status %d; want the refusal", d.LastError, d.LastStatus)
			}
		})
	}
}

// TestShutdownMidAttempt stops the dispatcher while an attempt waits on a
// hung endpoint: Run returns promptly, the attempt is not counted, and
// the next Run sends the event again under the same webhook-id.
func TestShutdownMidAttempt(t *testing.T) {
	hung := make(chan string, 4)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, seen int) {
		if seen == 0 {
			hung <- r.Header.Get("webhook-id")
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	f := newFixture(t, rc.URL, rc.secret, job.EventCompleted)
	f.complete(t, "j_1")
	cfg := fastConfig
	cfg.Timeout = time.Minute
	stop := f.start(t, cfg)
	var first string
	select {
	case first = <-hung:
	case <-time.After(5 * time.Second):
		t.Fatal("no attempt reached the endpoint")
	}
	began := time.Now()
	stop()
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("Run took %v to return with an attempt under way", took)
	}
	if d := f.deliveries(t)[0]; d.Attempts != 0 || d.State != store.DeliveryPending {
		t.Errorf("after shutdown: %d attempts, state %s; want the interrupted attempt uncounted", d.Attempts, d.State)
	}
	f.start(t, cfg)
	d := f.allDelivered(t, 1, 5*time.Second)[0]
	if d.MessageID != first || d.Attempts != 1 {
		t.Errorf("delivered as %s after %d attempts; want %s, the webhook-id of the interrupted attempt, after 1", d.MessageID, d.Attempts, first)
	}
}

// TestTestEvent sends a test event by hand and redelivers it.
func TestTestEvent(t *testing.T) {
	rc := newReceiver(t, nil)
	f := newFixture(t, rc.URL, rc.secret, job.EventCompleted)
	ctx := context.Background()
	if err := f.s.EnqueueTestEvent(ctx, f.user.ID, f.ep.ID); err != nil {
		t.Fatal(err)
	}
	f.start(t, fastConfig)
	d := f.allDelivered(t, 1, 5*time.Second)[0]
	if err := f.s.Redeliver(ctx, f.user.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() (bool, string) {
		requests, _, _ := rc.snapshot()
		return len(requests) == 2, fmt.Sprintf("%d requests", len(requests))
	})
	requests, _, bad := rc.snapshot()
	if len(bad) > 0 {
		t.Fatalf("verification failed: %v", bad)
	}
	if requests[0].Type != string(job.EventTest) || requests[1].ID != requests[0].ID {
		t.Errorf("got %s then %s as %s and %s; want webhook.test twice under one webhook-id",
			requests[0].Type, requests[1].Type, requests[0].ID, requests[1].ID)
	}
}
