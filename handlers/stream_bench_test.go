package handlers

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"scribe/job"
	"scribe/store/storetest"
)

// The stream benchmark keeps its clients in a child process (this test
// binary again, told so by streamClientsEnv), so the server's memory
// figures hold the server's cost alone: SCRIBE_BENCH_STREAMS=10000
// go test ./handlers -run '^$' -bench EventStreams -benchtime 1x
const (
	streamClientsEnv = "SCRIBE_BENCH_STREAM_CLIENTS" // the stream URL: run as the client process
	streamCountEnv   = "SCRIBE_BENCH_STREAMS"
	streamCookieEnv  = "SCRIBE_BENCH_STREAM_COOKIE"
	streamEventsEnv  = "SCRIBE_BENCH_STREAM_SNAPSHOT" // events in each stream's snapshot
)

// BenchmarkEventStreams opens many idle /events?view=html streams of one
// user over loopback against the real handler, then reports: the server's
// RSS, live Go heap and goroutine stacks per stream, goroutines
// per stream, the time to open them all, the p99 delay from publishing one
// change to its arrival on every stream (worst of 10 rounds per b.N), and the time
// for every stream to reconnect with Last-Event-ID, and the server's CPU
// time per stream for the fan-out and for the reconnect.
func BenchmarkEventStreams(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv(streamCountEnv)); err == nil && v > 0 {
		n = v
	}
	raiseFileLimit(b)
	h := newTestHandler(b, unreachable())
	h.cfg.Limits.StreamsPerUser = 2 * n // old streams may linger a moment when all reconnect
	srv := httptest.NewUnstartedServer(h.Routes())
	srv.Config.ErrorLog = nil
	srv.Start()
	b.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go h.Relay.Run(ctx)

	ada := storetest.User(b, h.Store, "ada@example.com")
	const jobs = 5
	for i := range jobs {
		storetest.SubmittedJob(b, h.Store, ada, fmt.Sprintf("j_%d", i), fmt.Sprintf("tr_%d", i))
	}
	rec := httptest.NewRecorder()
	if err := h.signIn(rec, httptest.NewRequest("GET", "/", nil), ada); err != nil {
		b.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]

	settle := func() {
		runtime.GC()
		runtime.GC() // a second cycle shrinks the stacks the first found idle
		debug.FreeOSMemory()
	}
	settle()
	rss0, g0 := rssBytes(b), runtime.NumGoroutine()
	heap0, stacks0 := goMemBytes()

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), streamClientsEnv+"="+srv.URL+"/events?view=html", streamCountEnv+"="+strconv.Itoa(n),
		streamCookieEnv+"="+cookie.Name+"="+cookie.Value, streamEventsEnv+"="+strconv.Itoa(jobs))
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); child.Wait() })
	answers := bufio.NewScanner(stdout)
	answer := func() []float64 {
		if !answers.Scan() {
			b.Fatalf("the client process ended: %v", answers.Err())
		}
		var vs []float64
		for f := range strings.FieldsSeq(answers.Text()) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				b.Fatalf("client process said %q", answers.Text())
			}
			vs = append(vs, v)
		}
		return vs
	}
	openSeconds := answer()[0]
	time.Sleep(time.Second) // handlers reach their idle wait
	settle()
	rss1, g1 := rssBytes(b), runtime.NumGoroutine()
	heap1, stacks1 := goMemBytes()

	b.ResetTimer()
	cpu0 := cpuTime(b)
	var worstP99 float64
	rounds := 10 * b.N
	for i := range rounds {
		t0 := time.Now()
		if _, err := h.Relay.Apply(ctx, job.Update{UpstreamID: "tr_0", Status: job.StatusProcessing,
			Progress: float64(i+1) / float64(rounds+1)}); err != nil {
			b.Fatal(err)
		}
		j, err := h.Store.Job(ctx, ada.ID, "j_0")
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(stdin, "fanout %d %d\n", t0.UnixNano(), j.Seq)
		worstP99 = max(worstP99, answer()[1])
	}
	b.StopTimer()
	fanoutCPU := cpuTime(b) - cpu0
	cpu0 = cpuTime(b)
	fmt.Fprintln(stdin, "reconnect")
	reconnectSeconds := answer()[0]
	reconnectCPU := cpuTime(b) - cpu0

	b.ReportMetric(float64(rss1-rss0)/float64(n), "rss-B/stream")
	b.ReportMetric(float64(heap1-heap0)/float64(n), "heap-B/stream")
	b.ReportMetric(float64(stacks1-stacks0)/float64(n), "stack-B/stream")
	b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/stream")
	b.ReportMetric(openSeconds, "open-s")
	b.ReportMetric(worstP99, "fanout-p99-ms")
	b.ReportMetric(reconnectSeconds, "reconnect-s")
	// The server's CPU time for the work, which other load on the machine
	// changes far less than it changes the times.
	b.ReportMetric(float64(fanoutCPU.Microseconds())/float64(rounds*n), "fanout-cpu-µs/stream")
	b.ReportMetric(float64(reconnectCPU.Microseconds())/float64(n), "reconnect-cpu-µs/stream")
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime(t testing.TB) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		t.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// rssBytes is this process's resident set size.
func rssBytes(t testing.TB) int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// goMemBytes is the Go heap's live objects and the goroutine stacks.
func goMemBytes() (heap, stacks int64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}

// raiseFileLimit lets this process hold a socket per stream.
func raiseFileLimit(t testing.TB) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
}

// benchStream is one client stream of the child process.
type benchStream struct {
	conn   net.Conn
	events atomic.Int64 // events read
	lastID atomic.Int64 // the newest event id read
	at     atomic.Int64 // Unix nanoseconds when lastID arrived
}

// runStreamClients is the child process of BenchmarkEventStreams: it opens
// the streams, says how long that took, then answers the commands the
// benchmark writes on stdin ("fanout T0 SEQ": p50 and p99 milliseconds
// from T0 until every stream had SEQ; "reconnect": seconds until every
// stream was open again with its Last-Event-ID).
func runStreamClients() int {
	var l syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
	l.Cur = l.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	u, err := url.Parse(os.Getenv(streamClientsEnv))
	if err != nil {
		return clientsFailed(err)
	}
	n, _ := strconv.Atoi(os.Getenv(streamCountEnv))
	snapshot, _ := strconv.ParseInt(os.Getenv(streamEventsEnv), 10, 64)
	cookie := os.Getenv(streamCookieEnv)
	streams := make([]*benchStream, n)
	for i := range streams {
		streams[i] = &benchStream{}
	}
	openAll := func(wantEvents func(s *benchStream) int64) (float64, error) {
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		next := atomic.Int64{}
		for range 64 { // dialers at once: the listen backlog is bounded
			wg.Go(func() {
				for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
					s := streams[i]
					want := wantEvents(s)
					if err := s.open(u, cookie); err != nil {
						errs <- err
						return
					}
					for s.events.Load() < want {
						time.Sleep(time.Millisecond)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		return time.Since(start).Seconds(), <-errs
	}
	secs, err := openAll(func(*benchStream) int64 { return snapshot })
	if err != nil {
		return clientsFailed(err)
	}
	fmt.Println(secs)
	commands := bufio.NewScanner(os.Stdin)
	for commands.Scan() {
		f := strings.Fields(commands.Text())
		switch f[0] {
		case "fanout":
			t0, _ := strconv.ParseInt(f[1], 10, 64)
			seq, _ := strconv.ParseInt(f[2], 10, 64)
			lat := make([]float64, 0, n)
			deadline := time.Now().Add(30 * time.Second)
			for _, s := range streams {
				for s.lastID.Load() < seq {
					if time.Now().After(deadline) {
						return clientsFailed(fmt.Errorf("a stream still lacks event %d after 30 s", seq))
					}
					time.Sleep(time.Millisecond)
				}
				lat = append(lat, float64(s.at.Load()-t0)/1e6)
			}
			slices.Sort(lat)
			fmt.Println(lat[len(lat)/2], lat[len(lat)*99/100])
		case "reconnect":
			for _, s := range streams {
				s.conn.Close()
			}
			secs, err := openAll(func(s *benchStream) int64 { s.events.Store(0); return 1 })
			if err != nil {
				return clientsFailed(err)
			}
			fmt.Println(secs)
		}
	}
	return 0
}

// open starts s's stream (resuming after its last id, if any) and reads
// it in the background until the connection closes.
func (s *benchStream) open(u *url.URL, cookie string) error {
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		return err
	}
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nAccept: text/event-stream\r\nCookie: " + cookie + "\r\n"
	if last := s.lastID.Load(); last > 0 {
		req += "Last-Event-ID: " + strconv.FormatInt(last, 10) + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		return err
	}
	r := bufio.NewReader(conn)
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("stream answered %s", res.Status)
	}
	s.conn = conn
	go func() {
		body := bufio.NewScanner(res.Body)
		var id int64
		for body.Scan() {
			line := body.Text()
			if v, ok := strings.CutPrefix(line, "id: "); ok {
				id, _ = strconv.ParseInt(v, 10, 64)
			}
			if line == "" && id > 0 {
				if id > s.lastID.Load() {
					s.at.Store(time.Now().UnixNano())
					s.lastID.Store(id)
				}
				s.events.Add(1)
				id = 0
			}
		}
	}()
	return nil
}

func clientsFailed(err error) int {
	fmt.Fprintln(os.Stderr, "stream clients:", err)
	return 1
}
