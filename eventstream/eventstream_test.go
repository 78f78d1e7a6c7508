package eventstream

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestStream(t *testing.T) {
	rec := httptest.NewRecorder()
	s, err := Start(rec, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Event(7, "job", []byte(`{"id":"j_1"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(); err != nil {
		t.Fatal(err)
	}
	if err := s.Event(8, "transcription.progress", []byte("one\ntwo\r\nthree\rfour")); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.Code, http.StatusOK; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if !rec.Flushed {
		t.Error("nothing was flushed")
	}
	want := "retry: 2000\n\n" +
		"id: 7\nevent: job\ndata: {\"id\":\"j_1\"}\n\n" +
		": ping\n\n" +
		"id: 8\nevent: transcription.progress\ndata: one\ndata: two\ndata: three\ndata: four\n\n"
	if got := rec.Body.String(); got != want {
		t.Errorf("wire\n%q\nwant\n%q", got, want)
	}
}

// deadlineWriter is a ResponseWriter that records, in order, each deadline
// set, each write and each flush.
type deadlineWriter struct {
	header   http.Header
	calls    []string
	deadline []time.Time
	broken   bool // writes fail
}

func (d *deadlineWriter) Header() http.Header { return d.header }
func (d *deadlineWriter) WriteHeader(int)     {}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	if d.calls = append(d.calls, "write"); d.broken {
		return 0, errors.New("broken pipe")
	}
	return len(p), nil
}

func (d *deadlineWriter) FlushError() error {
	d.calls = append(d.calls, "flush")
	return nil
}

func (d *deadlineWriter) SetWriteDeadline(t time.Time) error {
	d.calls = append(d.calls, "deadline")
	d.deadline = append(d.deadline, t)
	return nil
}

func TestWriteDeadline(t *testing.T) {
	t.Run("SetBeforeEachWrite", func(t *testing.T) {
		w := &deadlineWriter{header: http.Header{}}
		before := time.Now()
		s, err := Start(w, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Ping(); err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(w.calls, ","), "deadline,write,flush,deadline,write,flush"; got != want {
			t.Fatalf("calls %s, want %s", got, want)
		}
		for _, got := range w.deadline {
			if got.Before(before.Add(WriteTimeout)) || got.After(time.Now().Add(WriteTimeout)) {
				t.Errorf("deadline %s after the start, want %s after the write", got.Sub(before), WriteTimeout)
			}
		}
	})
	t.Run("WriteFails", func(t *testing.T) {
		w := &deadlineWriter{header: http.Header{}}
		s, err := Start(w, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		w.broken = true
		if err := s.Ping(); err == nil {
			t.Fatal("Ping on a broken connection returned nil")
		}
	})
}

func TestLastEventID(t *testing.T) {
	for _, tc := range []struct {
		header string
		id     int64
		ok     bool
	}{
		{"", 0, false},
		{"12", 12, true},
		{" 12 ", 12, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"abc", 0, false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.header != "" {
			r.Header.Set("Last-Event-ID", tc.header)
		}
		id, ok := LastEventID(r)
		if got, want := id, tc.id; got != want || ok != tc.ok {
			t.Errorf("Last-Event-ID %q: %d, %v; want %d, %v", tc.header, got, ok, want, tc.ok)
		}
	}
}

// TestHeartbeat shows every waiter shares one beat, and the clock starts
// again for whoever asks after it.
func TestHeartbeat(t *testing.T) {
	hb := NewHeartbeat(20 * time.Millisecond)
	first, second := hb.C(), hb.C()
	if first != second {
		t.Fatal("two waiters got different beats")
	}
	for _, c := range []<-chan struct{}{first, hb.C()} {
		select {
		case <-c:
		case <-time.After(2 * time.Second):
			t.Fatal("no beat within 2 s")
		}
	}
	next := hb.C()
	select {
	case <-next:
		t.Fatal("the beat after the first was already closed")
	default:
	}
	select {
	case <-next:
	case <-time.After(2 * time.Second):
		t.Fatal("no second beat within 2 s")
	}
}

// TestDetach shows a detached stream answers over plain HTTP/1.1 with the
// headers set before it, carries events after its handler has returned,
// ends when closed, and sees the client leave.
func TestDetach(t *testing.T) {
	detached := make(chan *Stream, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Kept", "yes")
		s, err := Detach(w, r, time.Second, Frame(1, "job", []byte("first")))
		if err != nil || !s.Detached() {
			t.Errorf("detach: %v (detached %v)", err, s != nil && s.Detached())
			return
		}
		detached <- s
	}))
	t.Cleanup(srv.Close)
	read := func() (*http.Response, *Stream) {
		t.Helper()
		res, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Header.Get("X-Kept"); res.StatusCode != http.StatusOK || got != "yes" {
			t.Fatalf("answer %d, X-Kept %q", res.StatusCode, got)
		}
		return res, <-detached
	}

	res, s := read()
	if err := s.Event(2, "job", []byte("second")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(body), "retry: 1000\n\nid: 1\nevent: job\ndata: first\n\nid: 2\nevent: job\ndata: second\n\n"; got != want {
		t.Fatalf("body %q, want %q", got, want)
	}

	res, s = read()
	res.Body.Close()
	select {
	case <-s.Gone():
	case <-time.After(5 * time.Second):
		t.Fatal("the client left, and 5 s later the stream had not seen it")
	}
	s.Close()
}
