package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
	"scribe/job"
	"scribe/relay"
	"scribe/store"
	"scribe/store/storetest"
)

// ingestSenders is how many deliveries are in flight at once in the
// ingest benchmark and test, as the upstream's delivery workers send them.
const ingestSenders = 8

// signedDelivery is one webhook ready to send: its headers and body.
type signedDelivery struct {
	header http.Header
	body   []byte
}

// submittedJobs records n jobs of u's that the upstream has accepted, named
// j_<prefix><k> and known upstream as tr_<prefix><k>.
func submittedJobs(t testing.TB, s *store.Store, u store.User, prefix string, n int) []job.Job {
	t.Helper()
	ctx := context.Background()
	jobs := make([]job.Job, n)
	for k := range n {
		id := fmt.Sprintf("%s%d", prefix, k)
		j, err := s.CreateJob(ctx, job.Job{ID: "j_" + id, UserID: u.ID, Filename: id + ".wav",
			AudioPath: "/nonexistent/" + id, SizeBytes: 1, Duration: 1})
		if err != nil {
			t.Fatal(err)
		}
		if jobs[k], err = s.MarkSubmitted(ctx, j.ID, "tr_"+id); err != nil {
			t.Fatal(err)
		}
	}
	return jobs
}

// completedDelivery is a signed transcription.completed webhook for j,
// carrying a three-segment transcript.
func completedDelivery(t testing.TB, secret, msgID string, j job.Job) signedDelivery {
	t.Helper()
	ev := deepscript.WebhookEvent{Event: deepscript.EventCompleted, ID: j.UpstreamID, CreatedAt: time.Now().UTC(),
		Result: deepscripttest.Result(j.ID, 3)}
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	h, err := deepscripttest.WebhookHeaders(secret, msgID, time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	return signedDelivery{header: h, body: body}
}

// answer is what a sender got back for one delivery.
type answer struct {
	code int
	body string
	took time.Duration
	err  error // the request failed: no answer
}

// sendAll posts every delivery to url from ingestSenders concurrent
// senders over kept-alive connections and returns their answers, in the
// order of deliveries. answered, when not nil, counts the answers as they
// come.
func sendAll(url string, deliveries []signedDelivery, answered *atomic.Int64) []answer {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: ingestSenders}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	answers := make([]answer, len(deliveries))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range ingestSenders {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < len(deliveries); k = int(next.Add(1) - 1) {
				answers[k] = postDelivery(client, url, deliveries[k])
				if answered != nil {
					answered.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return answers
}

// postDelivery posts one delivery to url and reads its answer.
func postDelivery(client *http.Client, url string, d signedDelivery) answer {
	req, err := http.NewRequest("POST", url+"/webhooks/deepscript", bytes.NewReader(d.body))
	if err != nil {
		return answer{err: err}
	}
	req.Header = d.header.Clone()
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return answer{code: resp.StatusCode, body: string(body), took: time.Since(start), err: err}
}

// percentile is the p-th percentile (0 < p <= 1) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// processCPU is the CPU time this process has used, user and system.
func processCPU(t testing.TB) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWebhookIngest drives the receiver over real HTTP with signed
// transcription.completed deliveries, each to a job of its own, from
// ingestSenders concurrent senders, and reports deliveries per second and
// the 99th percentile time to answer. Every job must be completed after.
func BenchmarkWebhookIngest(b *testing.B) {
	h := newTestHandler(b, unreachable())
	secret := registerWebhook(b, h.Store)
	jobs := submittedJobs(b, h.Store, storetest.User(b, h.Store, "ada@example.com"), "bench", b.N)
	deliveries := make([]signedDelivery, b.N)
	for k, j := range jobs {
		deliveries[k] = completedDelivery(b, secret, "msg_"+j.ID, j)
	}
	srv := httptest.NewServer(h.Routes())
	b.Cleanup(srv.Close)

	b.ResetTimer()
	start, cpuStart := time.Now(), processCPU(b)
	answers := sendAll(srv.URL, deliveries, nil)
	elapsed, cpu := time.Since(start), processCPU(b)-cpuStart
	b.StopTimer()

	took := make([]time.Duration, len(answers))
	for k, a := range answers {
		if a.err != nil || a.code != http.StatusOK {
			b.Fatalf("delivery %d: %d %s %v", k, a.code, a.body, a.err)
		}
		took[k] = a.took
	}
	for _, j := range jobs {
		got, err := h.Store.Job(context.Background(), j.UserID, j.ID)
		if err != nil {
			b.Fatal(err)
		}
		if got.Status != job.StatusCompleted {
			b.Fatalf("job %s is %s after its completed delivery was answered", j.ID, got.Status)
		}
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(percentile(took, 0.99).Microseconds())/1000, "p99-ms")
	// CPU time per delivery, the senders' included, varies less than the
	// rate on a machine shared with other work.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/delivery")
	b.ReportMetric(0, "ns/op")
}

// TestWebhookIngestConcurrent sends completed deliveries for many jobs of
// several users at once, each twice, mixed with deliveries for
// transcriptions that are not ours, as concurrent senders do: every job
// completes exactly once, in the store and on its owner's stream, repeats
// are answered as handled, and the strangers change nothing.
func TestWebhookIngestConcurrent(t *testing.T) {
	const users, jobsPerUser, strangers = 4, 30, 20
	fake := deepscripttest.NewServer(t)
	h := newTestHandler(t, fake.Client())
	secret := registerWebhook(t, h.Store)
	srv := httptest.NewServer(h.Routes())
	t.Cleanup(srv.Close)

	var jobs []job.Job
	subs := map[int64]*relay.Subscription{}
	for u := range users {
		user := storetest.User(t, h.Store, fmt.Sprintf("user%d@example.com", u))
		jobs = append(jobs, submittedJobs(t, h.Store, user, fmt.Sprintf("u%d_", u), jobsPerUser)...)
		sub, err := h.Relay.Subscribe(user.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sub.Close)
		subs[user.ID] = sub
	}
	var deliveries []signedDelivery
	for _, j := range jobs {
		d := completedDelivery(t, secret, "msg_"+j.ID, j)
		deliveries = append(deliveries, d, d)
	}
	for k := range strangers {
		stranger := job.Job{ID: fmt.Sprintf("stranger%d", k), UpstreamID: fmt.Sprintf("tr_%016d", k)}
		deliveries = append(deliveries, completedDelivery(t, secret, "msg_"+stranger.ID, stranger))
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(deliveries), func(a, b int) {
		deliveries[a], deliveries[b] = deliveries[b], deliveries[a]
	})

	// count tallies the answers by what they said.
	count := func(answers []answer) map[string]int {
		n := map[string]int{}
		for _, a := range answers {
			if a.err != nil || a.code != http.StatusOK {
				t.Errorf("answer %d %q, %v; want 200", a.code, a.body, a.err)
				continue
			}
			var msg struct{ Status string }
			if err := json.Unmarshal([]byte(a.body), &msg); err != nil {
				t.Fatalf("answer %q: %v", a.body, err)
			}
			n[msg.Status]++
		}
		return n
	}
	got := count(sendAll(srv.URL, deliveries, nil))
	if want := map[string]int{"ok": len(jobs), "already handled": len(jobs), "unknown transcription": strangers}; !maps.Equal(got, want) {
		t.Errorf("answers %v, want %v", got, want)
	}
	ctx := context.Background()
	for _, j := range jobs {
		stored, err := h.Store.Job(ctx, j.UserID, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Status != job.StatusCompleted || stored.CompletedVia != job.ViaWebhook {
			t.Errorf("job %s is %s via %q, want completed via webhook", j.ID, stored.Status, stored.CompletedVia)
		}
		if r, err := h.Store.Result(ctx, j.ID); err != nil || !strings.HasPrefix(r.Text, j.ID+" says") {
			t.Errorf("job %s result %q, %v; want its own", j.ID, r.Text, err)
		}
	}
	// Each change was published before its delivery was answered.
	published := func() map[string]int {
		seen := map[string]int{}
		for _, sub := range subs {
			for {
				c, err := sub.Next()
				if err != nil {
					t.Fatalf("subscription: %v", err)
				}
				if c == nil {
					break
				}
				if c.Job.Status != job.StatusCompleted {
					t.Errorf("published %s as %s, want completed", c.Job.ID, c.Job.Status)
				}
				seen[c.Job.ID]++
			}
		}
		return seen
	}
	seen := published()
	for _, j := range jobs {
		if seen[j.ID] != 1 {
			t.Errorf("job %s published %d times, want once", j.ID, seen[j.ID])
		}
	}
	if len(seen) != len(jobs) {
		t.Errorf("%d jobs published, want %d", len(seen), len(jobs))
	}

	// Sent again, in later batches: all handled already, nothing published.
	again := count(sendAll(srv.URL, deliveries, nil))
	if want := map[string]int{"already handled": 2 * len(jobs), "unknown transcription": strangers}; !maps.Equal(again, want) {
		t.Errorf("answers to repeats %v, want %v", again, want)
	}
	if seen := published(); len(seen) != 0 {
		t.Errorf("repeats published %v, want nothing", seen)
	}
}

// TestWebhookIngestShutdown shuts the server down while deliveries are in
// flight: the requests under way are drained, and every delivery answered
// 200 is committed.
func TestWebhookIngestShutdown(t *testing.T) {
	const n = 300
	h := newTestHandler(t, unreachable())
	secret := registerWebhook(t, h.Store)
	jobs := submittedJobs(t, h.Store, storetest.User(t, h.Store, "ada@example.com"), "", n)
	deliveries := make([]signedDelivery, n)
	for k, j := range jobs {
		deliveries[k] = completedDelivery(t, secret, "msg_"+j.ID, j)
	}
	srv := httptest.NewServer(h.Routes())
	t.Cleanup(srv.Close)

	var answered atomic.Int64
	shutdown := make(chan error, 1)
	go func() {
		for answered.Load() < n/4 {
			time.Sleep(time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdown <- srv.Config.Shutdown(ctx)
	}()
	answers := sendAll(srv.URL, deliveries, &answered)
	if err := <-shutdown; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	ok, cut := 0, 0
	for k, a := range answers {
		switch {
		case a.err != nil:
			cut++
			continue
		case a.code != http.StatusOK:
			t.Errorf("delivery %d answered %d %s", k, a.code, a.body)
			continue
		}
		ok++
		stored, err := h.Store.Job(context.Background(), jobs[k].UserID, jobs[k].ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Status != job.StatusCompleted {
			t.Errorf("job %s is %s after its delivery was answered 200", jobs[k].ID, stored.Status)
		}
	}
	if ok < n/4 || cut == 0 {
		t.Errorf("%d answered, %d cut off; want the shutdown to fall among the deliveries", ok, cut)
	}
	t.Logf("%d deliveries answered 200 and committed, %d refused after the shutdown", ok, cut)
}
