package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
	"scribe/job"
	"scribe/pgtest"
)

// The end-to-end tests boot the whole app: with run on port 0 in this
// process, or (e2e_lifecycle_test.go) as a real process, against the fake
// upstream of scribe/deepscript/deepscripttest or the embedded engine.
// What one request does is tested in handlers, with httptest.

// TestMain runs the app instead of the tests when SCRIBE_TEST_MAIN=1 is
// set: TestRestartMidFlight starts this test binary as the scribe process
// it SIGKILLs, so no test has to build the app. Otherwise it runs the
// tests and then stops the PostgreSQL that pgtest started for them.
func TestMain(m *testing.M) {
	if os.Getenv("SCRIBE_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(pgtest.Main(m))
}

// fastBackstop makes the backstop poll find jobs whose webhook is lost
// within about a second.
var fastBackstop = map[string]string{"SCRIBE_POLL_INTERVAL": "200ms", "SCRIBE_POLL_MAX_INTERVAL": "1s", "SCRIBE_STALE_AFTER": "1s"}

// fakeEnv is the environment that points the app at the fake upstream.
func fakeEnv(fake *deepscripttest.Server) map[string]string {
	return map[string]string{"DEEPSCRIPT_URL": fake.URL, "DEEPSCRIPT_API_KEY": fake.APIKey}
}

// testApp is a whole scribe started with run, as a user would start it.
type testApp struct {
	URL     string
	DataDir string
	stop    func()
	lines   atomic.Int64 // lines the app has written to its stdout
}

// startApp boots scribe with run on a free port. env adds to and overrides
// a test environment (SCRIBE_ADDR=127.0.0.1:0, a temp data dir); reuse a
// data dir by passing SCRIBE_DATA_DIR. The app is stopped in t.Cleanup (or
// earlier with Stop), and the test fails if run returns an error.
func startApp(t *testing.T, env map[string]string) *testApp {
	t.Helper()
	vars := map[string]string{
		"SCRIBE_ADDR":     "127.0.0.1:0",
		"SCRIBE_DATA_DIR": t.TempDir(),
		"SCRIBE_SIGNUP":   "open", // tests make several accounts
	}
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, nil, func(k string) string { return vars[k] }, pw)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	app := &testApp{DataDir: vars["SCRIBE_DATA_DIR"]}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			app.lines.Add(1)
			line := sc.Text()
			if testing.Verbose() {
				t.Log(line)
			}
			if rest, ok := strings.CutPrefix(line, "scribe: listening on "); ok && !sent {
				urls <- strings.Fields(rest)[0]
				sent = true
			}
		}
		io.Copy(io.Discard, pr)
	}()
	stopped := false
	app.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("run did not return within 60 s of cancel")
		}
	}
	t.Cleanup(app.stop)
	select {
	case app.URL = <-urls:
	case err := <-done:
		t.Fatalf("run ended before listening: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("app did not start listening within 60 s")
	}
	return app
}

// Stop shuts the app down as SIGTERM would and waits for run to return.
func (a *testApp) Stop() { a.stop() }

// newUser signs up a fresh account and returns an HTTP client carrying its
// session cookie (redirects are not followed, so tests see 303s).
func newUser(t *testing.T, app *testApp, email string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(app.URL+"/signup", url.Values{"email": {email}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signup %s: status %d, want 303", email, resp.StatusCode)
	}
	return c
}

// uploadFile posts one file to /jobs as the page's script does and returns
// the created job's id.
func uploadFile(t *testing.T, c *http.Client, app *testApp, path string) string {
	t.Helper()
	id, err := uploadAs(c, app.URL, path)
	if err != nil {
		t.Fatalf("upload %s: %v", filepath.Base(path), err)
	}
	return id
}

// jobState is the job JSON of GET /jobs/{id}.
type jobState struct {
	ID           string  `json:"id"`
	Status       string  `json:"status"`
	Progress     float64 `json:"progress"`
	CompletedVia *string `json:"completed_via"`
	Error        *string `json:"error"`
}

// getJob is job id as user c sees it, and the status of the answer.
func getJob(t *testing.T, c *http.Client, app *testApp, id string) (jobState, int) {
	t.Helper()
	req, _ := http.NewRequest("GET", app.URL+"/jobs/"+id, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j jobState
	if resp.StatusCode == http.StatusOK {
		json.NewDecoder(resp.Body).Decode(&j)
	}
	return j, resp.StatusCode
}

// waitFinal polls the app (not the upstream) until the job is final.
func waitFinal(t *testing.T, c *http.Client, app *testApp, id string, within time.Duration) jobState {
	t.Helper()
	deadline := time.Now().Add(within)
	var j jobState
	for time.Now().Before(deadline) {
		j, _ = getJob(t, c, app, id)
		if j.Status == "completed" || j.Status == "failed" {
			return j
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("job %s not final after %v; last seen %+v", id, within, j)
	return j
}

// download GETs url and returns the body, its Content-Type and the status.
func download(t *testing.T, c *http.Client, url string) (string, string, int) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.Header.Get("Content-Type"), resp.StatusCode
}

// mergeEnv merges environments; later ones win.
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
func waitAllFinal(t *testing.T, app *testApp, fake *deepscripttest.Server, ids []string, client func(i int) *http.Client, within time.Duration) map[string]jobState {
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
					up, _ := fake.JobByKey(id)
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

// deref is *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// firstN is at most the first n elements of s.
func firstN[T any](s []T, n int) []T { return s[:min(n, len(s))] }
