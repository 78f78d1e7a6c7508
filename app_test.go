package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// testApp is a whole scribe started with run, as a user would start it.
type testApp struct {
	URL     string
	DataDir string
	stop    func()
}

// startApp boots scribe with run on a free port. env adds to and overrides
// a test environment (SCRIBE_ADDR=127.0.0.1:0, a temp data dir, open
// sign-up so tests can make several accounts); reuse a data dir by passing
// SCRIBE_DATA_DIR. The app is stopped in t.Cleanup (or earlier with Stop),
// and the test fails if run returns an error.
func startApp(t *testing.T, env map[string]string) *testApp {
	t.Helper()
	vars := map[string]string{
		"SCRIBE_ADDR":     "127.0.0.1:0",
		"SCRIBE_DATA_DIR": t.TempDir(),
		"SCRIBE_SIGNUP":   "open",
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
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
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
	app := &testApp{DataDir: vars["SCRIBE_DATA_DIR"]}
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

// speechFile writes text spoken by flite's voice to a WAV in dir.
func speechFile(t *testing.T, dir, voice, text string) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "speech-*.wav")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if out, err := exec.Command("flite", "-voice", voice, "-t", text, "-o", f.Name()).CombinedOutput(); err != nil {
		t.Fatalf("flite: %v: %s", err, out)
	}
	return f.Name()
}
