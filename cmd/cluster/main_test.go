package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCluster runs what make cluster runs (PostgreSQL, two engine nodes,
// two replicas, two balancers) and sends one recording through it: the
// job completes, both replicas report it, the transcript is right, and
// Ctrl-C (the context) stops everything cleanly.
func TestCluster(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { os.RemoveAll(postgresDir(filepath.Join(dir, "cluster"))) })
	bin := filepath.Join(dir, "scribe")
	if out, err := exec.Command("go", "build", "-o", bin, "scribe").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	wav := filepath.Join(dir, "speech.wav")
	if out, err := exec.Command("flite", "-voice", "slt", "-t", "The meeting starts at nine thirty on Tuesday.", "-o", wav).CombinedOutput(); err != nil {
		t.Fatalf("flite: %v\n%s", err, out)
	}
	p := freePorts(t, 6)
	app := fmt.Sprintf("127.0.0.1:%d", p[0])
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-dir", filepath.Join(dir, "cluster"), "-scribe", bin, "-addr", app,
			"-engine-addr", fmt.Sprintf("127.0.0.1:%d", p[1]), "-ports", fmt.Sprintf("%d,%d,%d,%d", p[2], p[3], p[4], p[5])})
	}()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cancel()
			<-done
		}
	})

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := time.Now().Add(90 * time.Second)
	for _, replica := range []int{p[2], p[3]} {
		for {
			resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", replica))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica :%d is not healthy after 90 s: %v", replica, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	resp, err := c.PostForm("http://"+app+"/signup", url.Values{"email": {"ada@example.com"}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signup: status %d", resp.StatusCode)
	}
	id := upload(t, c, "http://"+app, wav)

	for _, replica := range []int{p[2], p[3]} {
		base := fmt.Sprintf("http://127.0.0.1:%d", replica) // its cookie serves the whole host
		for status := ""; status != "completed"; {
			if status == "failed" || time.Now().After(deadline.Add(90*time.Second)) {
				t.Fatalf("job %s on replica :%d is %q", id, replica, status)
			}
			time.Sleep(200 * time.Millisecond)
			var j struct{ Status string }
			getJSON(t, c, base+"/jobs/"+id, &j)
			status = j.Status
		}
	}
	resp, err = c.Get("http://" + app + "/jobs/" + id + "/transcript.txt")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(strings.ToLower(string(text)), "tuesday") {
		t.Fatalf("transcript %q lacks tuesday", text)
	}

	cancel()
	stopped = true
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("cluster stopped with %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the cluster did not stop within 60 s")
	}
}

func upload(t *testing.T, c *http.Client, base, path string) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", filepath.Base(path))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(b)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/jobs", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Jobs []struct{ ID string } }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Jobs) != 1 {
		t.Fatalf("upload: status %d, %v, %+v", resp.StatusCode, err, out)
	}
	return out.Jobs[0].ID
}

func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// freePorts finds n loopback ports nothing listens on.
func freePorts(t *testing.T, n int) []int {
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}
