package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"scribe/client"
	"scribe/deepscript/deepscripttest"
	"scribe/media/mediatest"
)

// apiToken makes an API token for the user of the session c carries.
func apiToken(t *testing.T, c *http.Client, app *testApp, name string) (id, secret string) {
	t.Helper()
	req, _ := http.NewRequest("POST", app.URL+"/api/tokens", strings.NewReader(`{"name":"`+name+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct{ ID, Token string }
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/tokens: %d %v", resp.StatusCode, err)
	}
	return tok.ID, tok.Token
}

// cliRun is one run of "scribe client" and what it wrote.
type cliRun struct {
	code           int
	stdout, stderr string
}

// runClient runs "scribe client args" against baseURL with token, as the
// binary would, and returns its exit status and output.
func runClient(t *testing.T, baseURL, token string, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	env := map[string]string{"SCRIBE_URL": baseURL, "SCRIBE_TOKEN": token}
	err := client.Main(ctx, args, func(k string) string { return env[k] }, &stdout, &stderr)
	code := 0
	if err != nil {
		ee, ok := err.(*client.ExitError)
		if !ok {
			t.Fatalf("client %v returned %T %v, want an *client.ExitError", args, err, err)
		}
		code = ee.ExitCode()
		stderr.WriteString(err.Error())
	}
	return cliRun{code, stdout.String(), stderr.String()}
}

// TestClientEndToEnd drives "scribe client" against the app with its
// embedded engine: upload and wait for subtitles, get, delete, and the
// exit codes of a bad token, a revoked one and a missing job.
func TestClientEndToEnd(t *testing.T) {
	app := startApp(t, map[string]string{"SCRIBE_ENGINE_WORKERS": "1"})
	alice := newUser(t, app, "alice@example.com")
	tokenID, token := apiToken(t, alice, app, "cli")
	dir := t.TempDir()
	wav := speechFile(t, dir, "slt", "The meeting starts at nine thirty on Tuesday.")

	run := runClient(t, app.URL, token, "upload", wav, "--wait", "--format", "srt")
	if run.code != 0 {
		t.Fatalf("upload --wait: exit %d: %s", run.code, run.stderr)
	}
	if !strings.Contains(run.stdout, " --> ") || !strings.Contains(strings.ToLower(run.stdout), "tuesday") {
		t.Fatalf("upload --wait --format srt wrote %q, want SubRip with the words", run.stdout)
	}

	run = runClient(t, app.URL, token, "upload", wav)
	id := strings.TrimSpace(run.stdout)
	if run.code != 0 || !strings.HasPrefix(id, "j_") {
		t.Fatalf("upload: exit %d, stdout %q: %s", run.code, run.stdout, run.stderr)
	}
	run = runClient(t, app.URL, token, "get", id)
	var got struct{ ID, Filename string }
	if err := json.Unmarshal([]byte(run.stdout), &got); run.code != 0 || err != nil || got.ID != id {
		t.Fatalf("get: exit %d, %q, %v", run.code, run.stdout, err)
	}
	// list shows both jobs, newest first, one tab-separated line each.
	run = runClient(t, app.URL, token, "list")
	if lines := strings.Split(strings.TrimSpace(run.stdout), "\n"); run.code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], id+"\t") {
		t.Fatalf("list: exit %d, %q: %s", run.code, run.stdout, run.stderr)
	}
	if run := runClient(t, app.URL, token, "delete", id); run.code != 0 {
		t.Fatalf("delete: exit %d: %s", run.code, run.stderr)
	}

	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("not audio at all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		token string
		args  []string
		want  int
	}{
		"DeletedJob": {token, []string{"get", id}, client.ExitNotFound},
		"BadToken":   {"scribe_WRONG", []string{"get", id}, client.ExitAuth},
		"NoFile":     {token, []string{"upload", dir + "/missing.wav"}, client.ExitUsage},
		"BadFormat":  {token, []string{"upload", wav, "--wait", "--format", "doc"}, client.ExitUsage},
		"NotAudio":   {token, []string{"upload", notes}, client.ExitFailed},
	} {
		t.Run(name, func(t *testing.T) {
			if run := runClient(t, app.URL, tc.token, tc.args...); run.code != tc.want {
				t.Fatalf("exit %d, want %d: %s", run.code, tc.want, run.stderr)
			}
		})
	}
	t.Run("RevokedToken", func(t *testing.T) {
		req, _ := http.NewRequest("DELETE", app.URL+"/api/tokens/"+tokenID, nil)
		resp, err := alice.Do(req)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE /api/tokens/%s: %v %v", tokenID, resp.StatusCode, err)
		}
		if run := runClient(t, app.URL, token, "upload", wav); run.code != client.ExitAuth {
			t.Fatalf("revoked token: exit %d, want %d: %s", run.code, client.ExitAuth, run.stderr)
		}
	})
}

// TestClientWaitWithoutStream puts a proxy that refuses every event
// stream between the client and the app: --wait falls back to polling
// the job, and a failed job exits 1.
func TestClientWaitWithoutStream(t *testing.T) {
	fake := deepscripttest.NewServer(t)
	fake.Plan = func(name string) deepscripttest.Plan {
		return deepscripttest.Plan{Fail: strings.HasPrefix(name, "fails"), Duration: time.Second}
	}
	app := startApp(t, fakeEnv(fake))
	alice := newUser(t, app, "alice@example.com")
	_, token := apiToken(t, alice, app, "cli")
	target, _ := url.Parse(app.URL)
	var streams, polls atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/events") {
			streams.Add(1)
			http.Error(w, "no streams here", http.StatusBadGateway)
			return
		}
		if r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/jobs/j_") && !strings.Contains(r.URL.Path[len("/jobs/"):], "/") {
			polls.Add(1)
		}
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	dir := t.TempDir()

	run := runClient(t, proxy.URL, token, "upload", mediatest.Tone(t, dir, "works.wav", 440), "--wait")
	if run.code != 0 || streams.Load() != 1 || polls.Load() == 0 {
		t.Fatalf("upload --wait through the proxy: exit %d, %d streams, %d polls: %s", run.code, streams.Load(), polls.Load(), run.stderr)
	}
	if run.stdout == "" {
		t.Fatal("upload --wait wrote no transcript")
	}
	run = runClient(t, proxy.URL, token, "upload", mediatest.Tone(t, dir, "fails.wav", 440), "--wait")
	if run.code != client.ExitFailed || !strings.Contains(run.stderr, "fails.wav") || run.stdout != "" {
		t.Fatalf("a failed job: exit %d, stdout %q, stderr %q; want exit 1 naming the file", run.code, run.stdout, run.stderr)
	}
}
