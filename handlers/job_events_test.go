package handlers

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"net/http/httptest"

	"scribe/store/storetest"
)

// TestShutdownEndsStreams holds browser event streams open, of a user's
// jobs and of one unfinished job, and starts draining: every stream must
// end at once, so the server's shutdown does not wait for them.
func TestShutdownEndsStreams(t *testing.T) {
	h := newTestHandler(t, unreachable())
	draining := make(chan struct{})
	h.Shutdown = draining
	srv := httptest.NewServer(h.Routes())
	defer srv.Close()
	ada := storetest.User(t, h.Store, "ada@example.com")
	storetest.SubmittedJob(t, h.Store, ada, "j_1", "tr_1")
	cookie := signedIn(t, h, ada)

	ended := make(chan string, 3)
	for _, path := range []string{"/events", "/events", "/jobs/j_1/events"} {
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.AddCookie(cookie)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "retry:") {
			t.Fatalf("GET %s: %d, first line %q, %v", path, resp.StatusCode, line, err)
		}
		go func() {
			io.Copy(io.Discard, r)
			ended <- path
		}()
	}
	select {
	case path := <-ended:
		t.Fatalf("stream %s ended before the shutdown", path)
	case <-time.After(100 * time.Millisecond):
	}
	close(draining)
	for range 3 {
		select {
		case <-ended:
		case <-time.After(5 * time.Second):
			t.Fatal("a stream was still open 5 s after draining began")
		}
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		rec := httptest.NewRecorder()
		h.MetricsRoutes().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if strings.Contains(rec.Body.String(), "\nscribe_browser_streams 0\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ended streams' subscriptions are still counted open")
		}
	}
}
