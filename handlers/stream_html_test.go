package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"scribe/job"
)

// sseEvent is one server-sent event as a browser assembles it.
type sseEvent struct {
	id, name, data string
}

// sseStream reads the events of one open stream.
type sseStream struct {
	t  *testing.T
	sc *bufio.Scanner
}

// openStream GETs an event stream as the signed-in user; it is closed when
// the test ends, and reads fail after a deadline rather than hang.
func openStream(t *testing.T, base, path string, cookie *http.Cookie) *sseStream {
	t.Helper()
	return resumeStream(t, base, path, cookie, "")
}

// resumeStream is openStream sending lastID as Last-Event-ID, as a
// reconnecting browser does.
func resumeStream(t *testing.T, base, path string, cookie *http.Cookie, lastID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	req.AddCookie(cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if got, want := res.Header.Get("Content-Type"), "text/event-stream"; res.StatusCode != http.StatusOK || got != want {
		t.Fatalf("GET %s: %d %s, want 200 %s", path, res.StatusCode, got, want)
	}
	return &sseStream{t: t, sc: bufio.NewScanner(res.Body)}
}

// next returns the next event, skipping comments and the retry preamble.
func (s *sseStream) next() sseEvent {
	s.t.Helper()
	var ev sseEvent
	var data []string
	for s.sc.Scan() {
		line := s.sc.Text()
		if line == "" {
			if ev.name == "" && data == nil {
				continue
			}
			ev.data = strings.Join(data, "\n")
			return ev
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			ev.id = value
		case "event":
			ev.name = value
		case "data":
			data = append(data, value)
		}
	}
	s.t.Fatalf("stream ended while waiting for an event: %v", s.sc.Err())
	return ev
}

// nextNamed returns the next event and fails unless it is called name.
func (s *sseStream) nextNamed(name string) sseEvent {
	s.t.Helper()
	ev := s.next()
	if ev.name != name {
		s.t.Fatalf("event %q (%.200s), want %q", ev.name, ev.data, name)
	}
	return ev
}

// html parses an event's data as a fragment.
func (ev sseEvent) html(t *testing.T) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(ev.data))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestEventStreamViews checks that the browser streams send the job JSON
// by default, as API clients read it, and the pages' rendered fragments
// when asked for ?view=html.
func TestEventStreamViews(t *testing.T) {
	h := newTestHandler(t, unreachable())
	srv := httptest.NewServer(h.Routes())
	t.Cleanup(srv.Close)
	cookie := userCookie(t, h, "ada@example.com")
	ctx := context.Background()
	u, err := h.Store.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	create := func(id string) job.Job {
		t.Helper()
		j, err := h.Relay.Create(ctx, job.Job{ID: id, UserID: u.ID, Filename: id + ".mp3", Duration: 75,
			AudioPath: filepath.Join(t.TempDir(), id+".mp3")})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	first := create("first")

	t.Run("JSONByDefault", func(t *testing.T) {
		want, err := json.Marshal(toJSON(first))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/events", "/jobs/first/events"} {
			ev := openStream(t, srv.URL, path, cookie).nextNamed("job")
			if ev.data != string(want) {
				t.Errorf("%s: data %s, want %s", path, ev.data, want)
			}
		}
	})

	t.Run("ListRows", func(t *testing.T) {
		s := openStream(t, srv.URL, "/events?view=html", cookie)
		row := s.nextNamed("row").html(t).Find(`[data-testid="job-row"]`)
		if got, want := row.AttrOr("data-job-id", ""), "first"; row.Length() != 1 || got != want {
			t.Fatalf("snapshot row for %q (%d rows), want one for %q", got, row.Length(), want)
		}
		if got, want := row.Find(`[data-testid="job-status"]`).Text(), "Queued"; got != want {
			t.Errorf("row status %q, want %q", got, want)
		}
		create("second")
		ev := s.nextNamed("row")
		row = ev.html(t).Find(`[data-testid="job-row"]`)
		if got, want := row.AttrOr("data-job-id", ""), "second"; got != want {
			t.Fatalf("live row for %q, want %q", got, want)
		}
		if got, want := row.Find(`[data-testid="job-link"]`).Text(), "second.mp3"; got != want {
			t.Errorf("live row names %q, want %q", got, want)
		}
		if ev.id == "" {
			t.Errorf("row event without an id: Last-Event-ID could not resume")
		}
		if _, err := h.Relay.Delete(ctx, u.ID, "second"); err != nil {
			t.Fatal(err)
		}
		if got, want := s.nextNamed("deleted").data, `{"id":"second"}`; got != want {
			t.Errorf("deleted data %s, want %s", got, want)
		}
	})

	t.Run("JobPanel", func(t *testing.T) {
		s := openStream(t, srv.URL, "/jobs/first/events?view=html", cookie)
		panel := s.nextNamed("panel").html(t)
		if got, want := panel.Find(`[data-testid="job-panel"]`).AttrOr("data-status", ""), "queued"; got != want {
			t.Fatalf("snapshot panel status %q, want %q", got, want)
		}
		if _, err := h.Store.MarkSubmitted(ctx, "first", "up-1"); err != nil {
			t.Fatal(err)
		}
		apply := func(u job.Update) {
			t.Helper()
			u.UpstreamID, u.Via = "up-1", job.ViaWebhook
			if _, err := h.Relay.Apply(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		apply(job.Update{Status: job.StatusProcessing, Progress: 0.5})
		panel = s.nextNamed("panel").html(t)
		if got, want := panel.Find(`[data-testid="job-progress"]`).AttrOr("value", ""), "50"; got != want {
			t.Errorf("progress %q, want %q", got, want)
		}
		// A line break in the text must survive the trip as data lines.
		text := "Good morning everyone.\nToday the weather."
		apply(job.Update{Status: job.StatusCompleted, Progress: 1, Result: &job.Result{Text: text,
			Segments: []job.Segment{{Start: 0, End: 1.5, Text: "Good morning everyone."}, {Start: 2, End: 3.5, Text: "Today the weather."}}}})
		final := s.nextNamed("panel")
		if got, want := final.html(t).Find(`[data-testid="job-status"]`).Text(), "Completed"; got != want {
			t.Errorf("final panel status %q, want %q", got, want)
		}
		ev := s.nextNamed("body")
		if ev.id != final.id {
			t.Errorf("body id %q, want the final panel's %q", ev.id, final.id)
		}
		body := ev.html(t).Find(`[data-testid="job-body"]`)
		if got, want := body.Find(`[data-testid="segment"]`).Length(), 2; got != want {
			t.Errorf("segments %d, want %d", got, want)
		}
		if got := body.Find(`[data-testid="transcript-text"]`).Text(); got != text {
			t.Errorf("plain text %q, want %q", got, text)
		}
		if got, want := body.Find(`[data-testid="download-srt"]`).AttrOr("href", ""), "/jobs/first/transcript.srt"; got != want {
			t.Errorf("srt download %q, want %q", got, want)
		}
		if s.sc.Scan() {
			t.Errorf("the stream went on after the final state: %q", s.sc.Text())
		}
	})
}
