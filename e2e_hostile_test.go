package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"scribe/deepscript/deepscripttest"
)

// TestHostile boots the whole app on loopback and measures what hostile
// clients cost it, logging the figures (go test -run TestHostile -v .):
// memory under forged 16 MiB webhooks, how long slow-loris log-ins hold
// connections, how a password guesser is throttled, and how many log lines
// a flood of forged webhooks writes. Each figure has a bound it must keep.
func TestHostile(t *testing.T) {
	app := startApp(t, fakeEnv(deepscripttest.NewServer(t)))
	newUser(t, app, "target@example.com")

	t.Run("ForgedLargeWebhooks", func(t *testing.T) {
		// One body shared by every request, allocated before the first
		// reading, so the growth measured is the app's.
		body := bytes.Repeat([]byte{'x'}, 16<<20)
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 40}}
		defer client.CloseIdleConnections()
		before := memoryNow(t)
		peak := sampleMemory(t)
		statuses, errs := flood(40, 40, func() (*http.Response, error) {
			return client.Do(forgedWebhook(app.URL, body))
		})
		top := peak()
		after := memoryNow(t)
		t.Logf("40 forged 16 MiB webhooks: RSS %d MB before, %d MB at peak, %d MB after; Go heap %d MB before, %d MB at peak; answers %v; %d connection errors",
			before.rss>>20, top.rss>>20, after.rss>>20, before.heap>>20, top.heap>>20, statuses, errs)
		// Unverified bodies may hold 64 MiB at once; with the collector's
		// default headroom (GOGC=100) the heap may reach about twice what
		// is live, so 130-190 MB of growth is seen and 256 MB (four times the
		// budget, far under the 640 MB the 40 bodies would take unbounded) is
		// the bound. The race detector's shadow memory (5-10 times what the program
		// touches, by its documentation) swamps the resident size, so with
		// -race the bound holds the Go heap, which it does not inflate.
		if growth := top.rss - before.rss; growth > 256<<20 && !raceEnabled {
			t.Errorf("RSS grew %d MB, want under 256 MB", growth>>20)
		}
		if growth := top.heap - before.heap; growth > 256<<20 {
			t.Errorf("the Go heap grew %d MB, want under 256 MB", growth>>20)
		}
		if got := statuses[http.StatusUnauthorized] + statuses[http.StatusServiceUnavailable]; got != 40 {
			t.Errorf("answers %v and %d errors, want 40 answers of 401 or 503", statuses, errs)
		}
	})

	t.Run("WrongPasswords", func(t *testing.T) {
		client := &http.Client{Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		statuses := map[int]int{}
		start := time.Now()
		for i := range 200 {
			resp, err := client.PostForm(app.URL+"/login", url.Values{"email": {"target@example.com"}, "password": {fmt.Sprintf("guess %d", i)}})
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[resp.StatusCode]++
		}
		t.Logf("200 wrong passwords for one account in %v: answers %v", time.Since(start).Round(time.Millisecond), statuses)
		if statuses[http.StatusSeeOther] > 0 {
			t.Fatalf("a wrong password logged in: %v", statuses)
		}
		if got := statuses[http.StatusTooManyRequests]; got < 180 {
			t.Errorf("%d of 200 guesses throttled with 429, want at least 180", got)
		}
	})

	t.Run("ForgedWebhookFlood", func(t *testing.T) {
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
		defer client.CloseIdleConnections()
		body := []byte(`{"type":"transcription.completed","data":{"id":"tr_forged"}}`)
		linesBefore := app.lines.Load()
		start := time.Now()
		statuses, errs := flood(2000, 16, func() (*http.Response, error) {
			return client.Do(forgedWebhook(app.URL, body))
		})
		took := time.Since(start)
		// The app's log is a pipe that blocks its writer until read, so
		// every line written during the flood has been counted or is being.
		lines := app.lines.Load() - linesBefore
		t.Logf("2000 forged webhooks in %v (%.0f/s): answers %v, %d errors; %d log lines",
			took.Round(time.Millisecond), 2000/took.Seconds(), statuses, errs, lines)
		if got := statuses[http.StatusUnauthorized]; got != 2000 {
			t.Errorf("%d of 2000 forgeries answered 401: %v, %d errors", got, statuses, errs)
		}
		if lines > 10 {
			t.Errorf("the flood wrote %d log lines, want at most 10", lines)
		}
	})

	t.Run("SlowLoris", func(t *testing.T) {
		// The form body timeout is 20 s: every connection must be cut by
		// then, with some slack for a loaded machine.
		const conns, within = 300, 30 * time.Second
		addr := strings.TrimPrefix(app.URL, "http://")
		start := time.Now()
		var (
			closedAt = make([]time.Duration, conns)
			readers  sync.WaitGroup
			open     atomic.Int64
		)
		list := make([]net.Conn, 0, conns)
		defer func() {
			for _, c := range list {
				c.Close()
			}
			readers.Wait()
		}()
		for i := range conns {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			list = append(list, c)
			if _, err := io.WriteString(c, "POST /login HTTP/1.1\r\nHost: "+addr+
				"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4096\r\n\r\nemail="); err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			open.Add(1)
			readers.Go(func() {
				io.Copy(io.Discard, c) // until the app closes the connection
				closedAt[i] = time.Since(start)
				open.Add(-1)
			})
		}
		// One byte a second on each connection: never enough to finish.
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for deadline := time.After(within); open.Load() > 0; {
			select {
			case <-deadline:
				t.Fatalf("%d of %d slow connections still open after %v", open.Load(), conns, within)
			case <-tick.C:
				for _, c := range list {
					c.Write([]byte{'a'}) // fails once the app has cut it
				}
			}
		}
		readers.Wait()
		slices.Sort(closedAt)
		t.Logf("%d slow-loris log-ins: all cut within %v (first %v, median %v)",
			conns, closedAt[conns-1].Round(time.Millisecond), closedAt[0].Round(time.Millisecond), closedAt[conns/2].Round(time.Millisecond))
		if closedAt[0] < 5*time.Second {
			t.Errorf("a slow connection was cut after %v, before it could have timed out", closedAt[0])
		}
	})
}

// forgedWebhook is a delivery with well-formed, current headers and a
// signature made with a key the app does not have.
func forgedWebhook(appURL string, body []byte) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, appURL+"/webhooks/deepscript", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", fmt.Sprintf("msg_forged_%d", time.Now().UnixNano()))
	req.Header.Set("webhook-timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	req.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32)))
	return req
}

// flood sends n requests from workers goroutines and counts the answers'
// statuses and the requests that failed outright.
func flood(n, workers int, send func() (*http.Response, error)) (map[int]int, int) {
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		errs     int
		wg       sync.WaitGroup
		next     atomic.Int64
	)
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				resp, err := send()
				mu.Lock()
				if err != nil {
					errs++
				} else {
					statuses[resp.StatusCode]++
				}
				mu.Unlock()
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
	}
	wg.Wait()
	return statuses, errs
}

// memory is what the process holds: the app runs in it.
type memory struct {
	rss  int64 // resident, from /proc/self/status VmRSS
	heap int64 // the Go heap's objects, live or not yet swept
}

// memoryNow reads the process's memory.
func memoryNow(t *testing.T) memory {
	t.Helper()
	m, err := readMemory()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readMemory() (memory, error) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	m := memory{heap: int64(sample[0].Value.Uint64())}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return m, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			m.rss = kb << 10
			return m, err
		}
	}
	return m, errors.New("no VmRSS in /proc/self/status")
}

// sampleMemory samples the memory every 10 ms until the returned function
// is called, which stops the sampling and returns the highest samples.
func sampleMemory(t *testing.T) func() memory {
	stop, done := make(chan struct{}), make(chan memory)
	top := memoryNow(t)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				done <- top
				return
			case <-tick.C:
				if m, err := readMemory(); err == nil { // memoryNow has read it once
					top = memory{rss: max(top.rss, m.rss), heap: max(top.heap, m.heap)}
				}
			}
		}
	}()
	return func() memory {
		close(stop)
		return <-done
	}
}
