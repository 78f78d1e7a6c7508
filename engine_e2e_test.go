package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// uploadFile posts one file to /jobs as the page's script does and returns
// the created job's id.
func uploadFile(t *testing.T, c *http.Client, app *testApp, path string) string {
	t.Helper()
	resp := postFile(t, c, app, path)
	defer resp.Body.Close()
	var body struct {
		Jobs []struct{ ID string } `json:"jobs"`
	}
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("upload %s: status %d: %s", filepath.Base(path), resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Jobs) != 1 {
		t.Fatalf("upload answer: %+v, %v", body, err)
	}
	return body.Jobs[0].ID
}

func postFile(t *testing.T, c *http.Client, app *testApp, path string) *http.Response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", filepath.Base(path))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", app.URL+"/jobs", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// jobState is the job JSON of GET /jobs/{id}.
type jobState struct {
	ID           string  `json:"id"`
	Status       string  `json:"status"`
	Progress     float64 `json:"progress"`
	CompletedVia *string `json:"completed_via"`
	Error        *string `json:"error"`
}

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

// TestEmbeddedEngineEndToEnd uploads real speech to the app running its
// own engine and checks the transcript holds the spoken words.
func TestEmbeddedEngineEndToEnd(t *testing.T) {
	app := startApp(t, map[string]string{"SCRIBE_ENGINE_WORKERS": "1"})
	alice := newUser(t, app, "alice@example.com")
	dir := t.TempDir()
	wav := speechFile(t, dir, "slt", "Hello from scribe. The meeting starts at nine thirty on Tuesday.")
	mp3 := filepath.Join(dir, "meeting.mp3")
	if out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", wav, mp3).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	id := uploadFile(t, alice, app, mp3)
	j := waitFinal(t, alice, app, id, 90*time.Second)
	if j.Status != "completed" || j.CompletedVia == nil {
		t.Fatalf("job ended %+v", j)
	}

	text, ct, status := download(t, alice, app.URL+"/jobs/"+id+"/transcript.txt")
	if status != 200 || !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("txt: %d %s", status, ct)
	}
	for _, w := range []string{"meeting", "nine", "thirty", "tuesday"} {
		if !strings.Contains(strings.ToLower(text), w) {
			t.Errorf("transcript %q lacks %q", text, w)
		}
	}
	for ext, want := range map[string]string{"srt": "-->", "vtt": "WEBVTT", "json": `"segments"`} {
		body, _, status := download(t, alice, app.URL+"/jobs/"+id+"/transcript."+ext)
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: status %d, body lacks %q: %.200s", ext, status, want, body)
		}
	}

	t.Run("OtherUsersJob", func(t *testing.T) {
		bob := newUser(t, app, "bob@example.com")
		for _, path := range []string{"", "/events", "/audio", "/transcript.txt", "/transcript.srt", "/transcript.vtt", "/transcript.json"} {
			if _, _, status := download(t, bob, app.URL+"/jobs/"+id+path); status != http.StatusNotFound {
				t.Errorf("GET /jobs/{id}%s as another user: %d, want 404", path, status)
			}
		}
		for _, path := range []string{"/delete", "/retry"} {
			resp, err := bob.Post(app.URL+"/jobs/"+id+path, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("POST /jobs/{id}%s as another user: %d, want 404", path, resp.StatusCode)
			}
		}
		if _, status := getJob(t, alice, app, id); status != 200 {
			t.Fatalf("owner lost the job after another user's attempts: %d", status)
		}
	})
}
