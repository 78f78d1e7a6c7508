package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
	"scribe/job"
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

// sendAll posts every delivery to url from ingestSenders concurrent
// senders over kept-alive connections, and returns each one's status and
// time to answer, in the order of deliveries.
func sendAll(t testing.TB, url string, deliveries []signedDelivery) ([]int, []time.Duration) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: ingestSenders}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	codes := make([]int, len(deliveries))
	took := make([]time.Duration, len(deliveries))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range ingestSenders {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < len(deliveries); k = int(next.Add(1) - 1) {
				d := deliveries[k]
				req, err := http.NewRequest("POST", url+"/webhooks/deepscript", bytes.NewReader(d.body))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header = d.header.Clone()
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("delivery %d: %v", k, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes[k], took[k] = resp.StatusCode, time.Since(start)
			}
		})
	}
	wg.Wait()
	return codes, took
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
	codes, took := sendAll(b, srv.URL, deliveries)
	elapsed, cpu := time.Since(start), processCPU(b)-cpuStart
	b.StopTimer()

	for k, code := range codes {
		if code != http.StatusOK {
			b.Fatalf("delivery %d answered %d", k, code)
		}
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
