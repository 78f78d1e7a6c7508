package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"scribe/job"
)

// Browser event streams, followed as EventSource follows them.

// sseMessage is one event read from a stream.
type sseMessage struct{ id, event, data string }

// readSSE calls fn for each event until the body ends.
func readSSE(r io.Reader, fn func(sseMessage)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var m sseMessage
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if data != nil {
				m.data = strings.Join(data, "\n")
				fn(m)
			}
			m, data = sseMessage{}, nil
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			m.id = value
		case "event":
			m.event = value
		case "data":
			data = append(data, value)
		}
	}
	return sc.Err()
}

// streamClient shares c's session but has no overall timeout, which
// would cut a long stream.
func streamClient(c *http.Client) *http.Client {
	return &http.Client{Jar: c.Jar, CheckRedirect: c.CheckRedirect}
}

func openStream(ctx context.Context, c *http.Client, url, lastID string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	return c.Do(req)
}

// forwardOnly checks that the states a stream shows for each job only
// move forward: status by rank, a final status never changes, progress
// never decreases within a status.
type forwardOnly struct {
	last     map[string]jobState
	problems []string
}

func (f *forwardOnly) observe(j jobState) {
	if f.last == nil {
		f.last = map[string]jobState{}
	}
	prev, seen := f.last[j.ID]
	f.last[j.ID] = j
	if !seen {
		return
	}
	was, now := job.Status(prev.Status), job.Status(j.Status)
	switch {
	case now.Rank() < was.Rank():
		f.problems = append(f.problems, fmt.Sprintf("job %s went back from %s to %s", j.ID, was, now))
	case was.Final() && now != was:
		f.problems = append(f.problems, fmt.Sprintf("job %s changed final state %s to %s", j.ID, was, now))
	case now == was && j.Progress < prev.Progress:
		f.problems = append(f.problems, fmt.Sprintf("job %s progress went back from %.2f to %.2f while %s", j.ID, prev.Progress, j.Progress, now))
	}
}

// TestForwardOnly checks the checker the stream tests rely on.
func TestForwardOnly(t *testing.T) {
	for _, tc := range []struct {
		name   string
		states []jobState
		bad    bool
	}{
		{"Forward", []jobState{{Status: "queued"}, {Status: "processing", Progress: 0.1}, {Status: "processing", Progress: 0.5}, {Status: "completed", Progress: 1}}, false},
		{"Repeated", []jobState{{Status: "processing", Progress: 0.5}, {Status: "processing", Progress: 0.5}}, false},
		{"StatusBack", []jobState{{Status: "processing"}, {Status: "queued"}}, true},
		{"ProgressBack", []jobState{{Status: "processing", Progress: 0.5}, {Status: "processing", Progress: 0.4}}, true},
		{"FinalChanged", []jobState{{Status: "completed", Progress: 1}, {Status: "failed"}}, true},
		{"AfterFinal", []jobState{{Status: "failed"}, {Status: "processing"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f forwardOnly
			for _, j := range tc.states {
				j.ID = "j_1"
				f.observe(j)
			}
			if got, want := len(f.problems) > 0, tc.bad; got != want {
				t.Errorf("problems %q, want some: %v", f.problems, want)
			}
		})
	}
}

// userStream follows a user's GET /events as EventSource would,
// reconnecting with Last-Event-ID whenever it ends.
type userStream struct {
	name string
	done chan struct{}

	mu       sync.Mutex
	check    forwardOnly
	connects int
}

func followUserStream(ctx context.Context, c *http.Client, appURL, name string) *userStream {
	s := &userStream{name: name, done: make(chan struct{})}
	sc := streamClient(c)
	go func() {
		defer close(s.done)
		lastID := ""
		for ctx.Err() == nil {
			resp, err := openStream(ctx, sc, appURL+"/events", lastID)
			if err == nil {
				if resp.StatusCode == http.StatusOK {
					s.mu.Lock()
					s.connects++
					s.mu.Unlock()
					readSSE(resp.Body, func(m sseMessage) {
						var j jobState
						if err := json.Unmarshal([]byte(m.data), &j); err != nil {
							s.problem(fmt.Sprintf("unreadable event %q: %v", m.data, err))
							return
						}
						s.mu.Lock()
						s.check.observe(j)
						s.mu.Unlock()
						lastID = m.id
					})
				} else if ctx.Err() == nil {
					s.problem(fmt.Sprintf("stream answered %d", resp.StatusCode))
				}
				resp.Body.Close()
			}
			// EventSource's reconnect delay, shortened.
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *userStream) problem(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.check.problems = append(s.check.problems, p)
}

func (s *userStream) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connects
}

func (s *userStream) problemList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.check.problems...)
}

func (s *userStream) jobIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.check.last {
		ids = append(ids, id)
	}
	return ids
}

// missingFinals lists the jobs in ids whose final state the stream has
// not shown yet.
func (s *userStream) missingFinals(ids map[string]bool, final map[string]jobState) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var missing []string
	for id := range ids {
		if got, ok := s.check.last[id]; !ok || got.Status != final[id].Status {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	return missing
}

// jobStreamResult is what a job page's stream showed.
type jobStreamResult struct {
	states       []jobState
	connects     int
	resumeStatus int // the answer to a reconnect with Last-Event-ID after the final event
	problems     []string
}

// followJobStream follows GET /jobs/{id}/events until it closes after the
// final state, reconnecting with Last-Event-ID if it ends before, then
// reconnects once more to see the 204 that tells EventSource to stop.
func followJobStream(ctx context.Context, c *http.Client, appURL, id string) <-chan jobStreamResult {
	out := make(chan jobStreamResult, 1)
	sc := streamClient(c)
	go func() {
		var res jobStreamResult
		var check forwardOnly
		defer func() {
			res.problems = append(res.problems, check.problems...)
			out <- res
		}()
		lastID, sawFinal := "", false
		for ctx.Err() == nil {
			resp, err := openStream(ctx, sc, appURL+"/jobs/"+id+"/events", lastID)
			if err != nil {
				select {
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
			if sawFinal {
				resp.Body.Close()
				res.resumeStatus = resp.StatusCode
				return
			}
			if resp.StatusCode != http.StatusOK {
				resp.Body.Close()
				res.problems = append(res.problems, fmt.Sprintf("answered %d before a final state", resp.StatusCode))
				return
			}
			res.connects++
			readSSE(resp.Body, func(m sseMessage) {
				var j jobState
				if err := json.Unmarshal([]byte(m.data), &j); err != nil {
					res.problems = append(res.problems, fmt.Sprintf("unreadable event %q", m.data))
					return
				}
				if sawFinal {
					res.problems = append(res.problems, fmt.Sprintf("event after the final one: %+v", j))
				}
				if j.ID != id {
					res.problems = append(res.problems, fmt.Sprintf("event for job %s", j.ID))
				}
				check.observe(j)
				res.states = append(res.states, j)
				lastID = m.id
				sawFinal = sawFinal || job.Status(j.Status).Final()
			})
			resp.Body.Close()
			if sawFinal && ctx.Err() != nil {
				res.problems = append(res.problems, "stream stayed open after the final event")
				return
			}
		}
		if !sawFinal {
			res.problems = append(res.problems, "no final state before the deadline")
		}
	}()
	return out
}

// checkUserStreams checks that each user's stream (streams[u] is user u's)
// showed every one of the user's jobs in its final state, never moved one
// backwards, and showed no other user's job; owner(i) owns ids[i].
func checkUserStreams(t *testing.T, streams []*userStream, ids []string, owner func(int) int, final map[string]jobState) {
	for u, s := range streams {
		mine := map[string]bool{}
		for i, id := range ids {
			if owner(i) == u {
				mine[id] = true
			}
		}
		eventually(t, 15*time.Second, s.name+" shows every final state", func() (bool, string) {
			missing := s.missingFinals(mine, final)
			return len(missing) == 0, fmt.Sprintf("%d jobs without their final state, e.g. %v", len(missing), firstN(missing, 3))
		})
		for _, p := range s.problemList() {
			t.Errorf("%s: %s", s.name, p)
		}
		for _, id := range s.jobIDs() {
			if !mine[id] {
				t.Errorf("%s showed job %s of another user", s.name, id)
			}
		}
	}
}

// followAliceAndBob opens users[0]'s and users[1]'s browser streams at
// base, until ctx ends, and waits until both are connected.
func followAliceAndBob(t *testing.T, ctx context.Context, users []*http.Client, base string) []*userStream {
	streams := []*userStream{
		followUserStream(ctx, users[0], base, "alice /events"),
		followUserStream(ctx, users[1], base, "bob /events"),
	}
	eventually(t, 10*time.Second, "user streams connected", func() (bool, string) {
		a, b := streams[0].connections(), streams[1].connections()
		return a > 0 && b > 0, fmt.Sprintf("connections %d and %d", a, b)
	})
	return streams
}
