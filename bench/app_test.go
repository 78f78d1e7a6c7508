package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the scribe executable built once per run.
var binary struct {
	once sync.Once
	path string
	err  error
}

// buildScribe builds the app as `make build` would, into a temp dir.
func buildScribe(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "scribe-bench-bin")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "scribe")
		out, err := exec.Command("go", "build", "-o", binary.path, "scribe").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// proc is one scribe process on loopback.
type proc struct {
	URL     string
	DataDir string
	cmd     *exec.Cmd
	done    chan error
}

// startScribe runs `scribe args...` with env over a bench environment and
// waits for its listening line. It is stopped with SIGTERM in t.Cleanup.
func startScribe(t *testing.T, dataDir string, env map[string]string, args ...string) *proc {
	t.Helper()
	vars := map[string]string{
		"SCRIBE_ADDR":     "127.0.0.1:0",
		"SCRIBE_DATA_DIR": dataDir,
		"SCRIBE_SIGNUP":   "open",
		"PATH":            os.Getenv("PATH"),
		"HOME":            os.Getenv("HOME"),
	}
	for k, v := range env {
		vars[k] = v
	}
	cmd := exec.Command(buildScribe(t), args...)
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{DataDir: dataDir, cmd: cmd, done: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "scribe: listening on "); ok && !sent {
				urls <- strings.Fields(rest)[0]
				sent = true
			}
		}
		io.Copy(io.Discard, out)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(p.Stop)
	select {
	case p.URL = <-urls:
	case err := <-p.done:
		t.Fatalf("scribe exited before listening: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("scribe did not listen within 60 s")
	}
	return p
}

// Stop sends SIGTERM and waits for the process to exit.
func (p *proc) Stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// RSS is the process's resident memory in bytes.
func (p *proc) RSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// CPU is the process's user+system CPU time so far.
func (p *proc) CPU(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

const benchPassword = "correct horse battery"

// userClient returns a client signed in as email, signing up first when
// signup is true. Redirects are not followed.
func userClient(t *testing.T, appURL, email string, signup bool) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: newTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	path := "/login"
	if signup {
		path = "/signup"
	}
	resp, err := c.PostForm(appURL+path, url.Values{"email": {email}, "password": {benchPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s %s: status %d, want 303", path, email, resp.StatusCode)
	}
	return c
}

// newTransport is a transport that keeps enough idle connections for the
// bench's concurrency.
func newTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 0
	tr.MaxIdleConnsPerHost = 256
	return tr
}

// getJSON GETs path with Accept: application/json and returns the status
// and body, failing the test on a transport error.
func getJSON(t *testing.T, c *http.Client, rawURL string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "GET", rawURL, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// raiseFileLimit lets this process (and the scribe it starts) hold the
// bench's many connections.
func raiseFileLimit(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
}
