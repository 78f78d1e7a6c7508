package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"scribe/job"
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

// TestEventsResume checks a user stream resumed with Last-Event-ID: within
// resumeLimit it sends exactly the jobs changed since shortly before that
// id, in the order they changed; past it, a fresh snapshot of the newest
// jobs rather than the whole history. Live changes follow either way.
func TestEventsResume(t *testing.T) {
	h := newTestHandler(t, unreachable())
	srv := httptest.NewServer(h.Routes())
	t.Cleanup(srv.Close)
	ada := storetest.User(t, h.Store, "ada@example.com")
	cookie := signedIn(t, h, ada)
	var jobs []job.Job
	for i := range resumeLimit + 5 {
		jobs = append(jobs, storetest.QueuedJob(t, h.Store, ada, fmt.Sprintf("j_%03d", i)))
	}
	live := 0
	// read takes n job events, then creates a job and checks it comes
	// next: the stream sent n and no more before going live.
	read := func(t *testing.T, s *sseStream, n int) []jobJSON {
		t.Helper()
		var got []jobJSON
		for range n {
			var j jobJSON
			if err := json.Unmarshal([]byte(s.nextNamed("job").data), &j); err != nil {
				t.Fatal(err)
			}
			got = append(got, j)
		}
		live++
		id := fmt.Sprintf("live_%d", live)
		storetest.QueuedJob(t, h.Store, ada, id) // not through the relay: nothing published
		if _, err := h.Relay.Delete(context.Background(), ada.ID, id); err != nil {
			t.Fatal(err)
		}
		if ev := s.next(); ev.name != "deleted" || !strings.Contains(ev.data, id) {
			t.Fatalf("after %d events: %s %.100s, want the live deletion of %s", n, ev.name, ev.data, id)
		}
		return got
	}

	t.Run("WithinLimit", func(t *testing.T) {
		from := jobs[150]
		s := resumeStream(t, srv.URL, "/events", cookie, strconv.FormatInt(from.Seq, 10))
		var want []string
		for _, j := range jobs {
			if j.Seq > from.Seq-resumeLookback {
				want = append(want, j.ID)
			}
		}
		got := read(t, s, len(want))
		for i, j := range got {
			if j.ID != want[i] {
				t.Fatalf("event %d is %s, want %s (changed since %d, in order)", i, j.ID, want[i], from.Seq-resumeLookback)
			}
		}
	})

	t.Run("PastLimit", func(t *testing.T) {
		s := resumeStream(t, srv.URL, "/events", cookie, strconv.FormatInt(jobs[0].Seq, 10))
		got := read(t, s, resumeLimit)
		seen := map[string]bool{}
		for _, j := range got {
			seen[j.ID] = true
		}
		for _, j := range jobs[len(jobs)-resumeLimit:] {
			if !seen[j.ID] {
				t.Fatalf("the snapshot lacks %s, one of the newest %d jobs", j.ID, resumeLimit)
			}
		}
	})
}
