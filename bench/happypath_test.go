package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"scribe/deepscript/deepscripttest"
)

// jobLength is the fake upstream plan's duration for the happy path; the
// fake completes a job at four fifths of it.
const (
	jobLength = 3 * time.Second
	jobDone   = jobLength * 4 / 5
)

// upstreamCounter is a reverse proxy in front of the fake upstream that
// counts the job requests it passes, by kind.
type upstreamCounter struct {
	srv                                     *httptest.Server
	creates, polls, results, streams, other atomic.Int64
	open, maxOpen                           atomic.Int64 // event streams open now, and at most
}

func newUpstreamCounter(t *testing.T, upstream string) *upstreamCounter {
	u, _ := url.Parse(upstream)
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.FlushInterval = -1                    // event streams pass through at once
	proxy.ErrorLog = log.New(io.Discard, "", 0) // the app hanging up a stream is not news
	c := &upstreamCounter{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // v1 transcriptions {id} [status|events]
		switch {
		case r.Method == "POST" && r.URL.Path == "/v1/transcriptions":
			c.creates.Add(1)
		case len(parts) == 4 && parts[3] == "status":
			c.polls.Add(1)
		case len(parts) == 4 && parts[3] == "events":
			c.streams.Add(1)
			now := c.open.Add(1)
			defer c.open.Add(-1)
			for m := c.maxOpen.Load(); now > m && !c.maxOpen.CompareAndSwap(m, now); m = c.maxOpen.Load() {
			}
		case len(parts) == 3 && parts[1] == "transcriptions" && r.Method == "GET":
			c.results.Add(1)
		default:
			c.other.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *upstreamCounter) jobRequests() int64 {
	return c.creates.Load() + c.polls.Load() + c.results.Load() + c.streams.Load()
}

// measureHappyPath uploads files whose upstream jobs take jobLength and
// counts, per job, the app's requests to the upstream and the time from
// the upstream's completion to a browser stream showing it; the baseline
// is a client that polls every 2 s, against the same upstream.
func measureHappyPath(t *testing.T) []row {
	const email = "happy@example.com"
	n := size(20, 100)
	in := newInstall(t, email)
	in.fake.Plan = func(string) deepscripttest.Plan { return deepscripttest.Plan{Duration: jobLength} }
	var createdMu sync.Mutex
	created := map[string]time.Time{} // filename → create time upstream
	in.fake.OnCreate = func(j deepscripttest.Job) {
		createdMu.Lock()
		created[j.Name] = time.Now()
		createdMu.Unlock()
	}
	counter := newUpstreamCounter(t, in.fake.URL)
	p := in.start(t, map[string]string{"DEEPSCRIPT_URL": counter.srv.URL})
	c := userClient(t, p.URL, email, false)
	wav := sineWAV(t, time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	done := map[string]time.Time{}
	err := openStream(ctx, c, p.URL+"/events", "", func(j jobEvent) {
		mu.Lock()
		defer mu.Unlock()
		if j.Status == "completed" && done[j.Filename].IsZero() {
			done[j.Filename] = time.Now()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := upload(c, p.URL, fmt.Sprintf("happy-%03d.wav", i), wav); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(jobLength + 60*time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		finished := len(done)
		mu.Unlock()
		if finished == n {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // any late requests (result GETs) land
	mu.Lock()
	var lat []time.Duration
	for name, at := range done {
		createdMu.Lock()
		lat = append(lat, at.Sub(created[name].Add(jobDone)))
		createdMu.Unlock()
	}
	mu.Unlock()
	if len(lat) != n {
		t.Errorf("%d of %d jobs completed on the browser stream", len(lat), n)
	}
	perJob := float64(counter.jobRequests()) / float64(n)
	t.Logf("happy path: creates %d, polls %d, result GETs %d, streams %d", counter.creates.Load(), counter.polls.Load(), counter.results.Load(), counter.streams.Load())

	baseLat, basePerJob := pollingBaseline(t, in.fake, n)
	med, baseMed := median(lat), median(baseLat)
	return []row{
		{Measure: fmt.Sprintf("upstream requests per job (%d jobs of %v)", n, jobLength), Scribe: fmt.Sprintf("%.2f", perJob), Baseline: fmt.Sprintf("%.2f (poll every 2 s)", basePerJob), Ratio: ratio(perJob, basePerJob), Target: "≤ 2.3"},
		{Measure: "completion to browser, median", Scribe: ms(med), Baseline: ms(baseMed) + " (poll every 2 s)", Ratio: ratio(float64(med), float64(baseMed)), Target: "sub-second"},
		{Measure: "completion to browser, max", Scribe: ms(slices.Max(lat)), Baseline: ms(slices.Max(baseLat)), Ratio: ratio(float64(slices.Max(lat)), float64(slices.Max(baseLat))), Target: "–"},
	}
}

// pollingBaseline creates n jobs on the fake upstream and follows each
// the plain way: poll its status every 2 s, then GET the result.
func pollingBaseline(t *testing.T, fake *deepscripttest.Server, n int) ([]time.Duration, float64) {
	client := fake.Client()
	ctx := context.Background()
	var mu sync.Mutex
	var lat []time.Duration
	var requests atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tr := fake.Create(t, fmt.Sprintf("baseline-%03d.wav", i), fmt.Sprintf("baseline-%03d", i))
			requests.Add(1)
			finish := time.Now().Add(jobDone)
			for {
				time.Sleep(2 * time.Second)
				st, err := client.Status(ctx, tr.ID)
				requests.Add(1)
				if err == nil && st.Status.Final() {
					break
				}
			}
			seen := time.Now()
			if _, err := client.Transcription(ctx, tr.ID); err != nil {
				t.Errorf("baseline result: %v", err)
			}
			requests.Add(1)
			mu.Lock()
			lat = append(lat, seen.Sub(finish))
			mu.Unlock()
		})
	}
	wg.Wait()
	return lat, float64(requests.Load()) / float64(n)
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// sineWAV writes a tone of length d, a file the app accepts as audio.
func sineWAV(t *testing.T, d time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tone.wav")
	out, err := exec.Command("ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
		fmt.Sprintf("sine=frequency=440:duration=%g", d.Seconds()), "-ar", "16000", "-ac", "1", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return path
}

// upload posts the file at path as name to /jobs, streaming it.
func upload(c *http.Client, appURL, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("file", name)
		if err == nil {
			_, err = io.Copy(fw, f)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest("POST", appURL+"/jobs", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("upload %s: status %d: %s", name, resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}
