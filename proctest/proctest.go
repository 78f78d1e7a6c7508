// Package proctest runs a test binary again as a child process (the real
// app or engine, which the binary's TestMain starts when told to by an
// environment variable), waits until it serves, keeps its output to show
// if the test fails, and kills it with SIGKILL, as a crash would.
package proctest

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Process is a running child.
type Process struct {
	URL    string // the first word after the serving line's prefix
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs this test binary with args and env added to the environment,
// and waits up to 60 s for the line starting with servingPrefix that
// gives its URL. It is killed when the test ends; label names it in
// failures.
func Start(t testing.TB, args []string, env map[string]string, servingPrefix, label string) *Process {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	var (
		logMu sync.Mutex
		logs  []string
	)
	urls := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			logs = append(logs, line)
			logMu.Unlock()
			if rest, ok := strings.CutPrefix(line, servingPrefix); ok {
				select {
				case urls <- strings.Fields(rest)[0]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() {
		cmd.Wait()
		pw.Close()
		<-scanned
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			logMu.Lock()
			defer logMu.Unlock()
			t.Logf("%s output (last 150 lines):\n%s", label, strings.Join(logs[max(0, len(logs)-150):], "\n"))
		}
	})
	select {
	case p.URL = <-urls:
	case <-p.exited:
		t.Fatalf("%s exited before serving", label)
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not serve within 60 s", label)
	}
	return p
}

// Kill ends the process with SIGKILL and waits for it.
func (p *Process) Kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.exited
}
