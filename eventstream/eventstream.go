// Package eventstream writes server-sent events (text/event-stream) to one
// client: the headers, a retry hint, events and keep-alive pings, each
// flushed at once and each bounded by a write deadline.
package eventstream

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// WriteTimeout bounds each write, so a stalled client ties up its handler
// for at most this long. Servers that stream must not set
// http.Server.WriteTimeout, which would cut every stream; this replaces it
// per write.
const WriteTimeout = 10 * time.Second

// Stream writes events to one client. It is not safe for concurrent use.
type Stream struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	conn net.Conn        // when detached from net/http
	gone <-chan struct{} // closed when the client has left, if known
}

// Start answers 200 with the event-stream headers and sends retry, how long
// the client waits before it reconnects.
func Start(w http.ResponseWriter, retry time.Duration) (*Stream, error) { return Open(w, retry, nil) }

// Open is Start that also sends first, frames made by Frame, in the same
// write: a stream's snapshot costs one flush, not one per event.
func Open(w http.ResponseWriter, retry time.Duration, first []byte) (*Stream, error) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise buffer the stream
	w.WriteHeader(http.StatusOK)
	s := &Stream{w: w, rc: http.NewResponseController(w)}
	b := make([]byte, 0, len(first)+20)
	b = append(b, "retry: "...)
	b = strconv.AppendInt(b, retry.Milliseconds(), 10)
	b = append(b, "\n\n"...)
	return s, s.write(append(b, first...))
}

// Event writes one event: its id (which the client sends back as
// Last-Event-ID when it reconnects), its name, and its data as one data:
// line per line.
func (s *Stream) Event(id int64, name string, data []byte) error {
	return s.Write(Frame(id, name, data))
}

// Frame is one event as Event writes it, for a caller that encodes an
// event once and writes it to many streams.
func Frame(id int64, name string, data []byte) []byte {
	b := make([]byte, 0, len(data)+len(name)+40)
	b = append(b, "id: "...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, "\nevent: "...)
	b = append(b, name...)
	b = append(b, '\n')
	// A client splits lines at CR, LF or CRLF; each becomes a data: line
	// so none can end the event or start a field.
	text := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
	for line := range strings.SplitSeq(text, "\n") {
		b = append(b, "data: "...)
		b = append(b, line...)
		b = append(b, '\n')
	}
	return append(b, '\n')
}

// Write sends frames made by Frame, as they are.
func (s *Stream) Write(frames []byte) error { return s.write(frames) }

// Ping writes a comment that keeps proxies from closing an idle stream.
func (s *Stream) Ping() error { return s.write(ping) }

var ping = []byte(": ping\n\n")

// Detach is Open for a stream that outlives its handler. Where the server
// allows it (HTTP/1), it takes the connection over from net/http, which
// then drops what it held for the request (its buffers, the goroutine that
// watches the connection, the handler's stack): an idle stream costs
// little more than its socket. The answer carries the headers set on w and
// ends when the connection closes; Close closes it. Where the server does
// not allow it, the stream stays on the handler and Detached is false.
func Detach(w http.ResponseWriter, r *http.Request, retry time.Duration, first []byte) (*Stream, error) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if errors.Is(err, http.ErrNotSupported) {
		s, err := Open(w, retry, first)
		s.gone = r.Context().Done()
		return s, err
	}
	if err != nil {
		return nil, err
	}
	h := w.Header().Clone()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("Connection", "close")
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	h.Write(&b)
	b.WriteString("\r\nretry: " + strconv.FormatInt(retry.Milliseconds(), 10) + "\n\n")
	b.Write(first)
	gone := make(chan struct{})
	s := &Stream{conn: conn, gone: gone}
	// The client sends nothing more; a read returns when it leaves, or
	// when Close closes the connection.
	go func() {
		var buf [1]byte
		for {
			if _, err := conn.Read(buf[:]); err != nil {
				close(gone)
				return
			}
		}
	}()
	return s, s.write(b.Bytes())
}

// Detached reports whether the stream has left its handler.
func (s *Stream) Detached() bool { return s.conn != nil }

// Gone is closed when the client has left.
func (s *Stream) Gone() <-chan struct{} { return s.gone }

// Close ends a detached stream; a stream on its handler ends with it.
func (s *Stream) Close() error {
	if s.conn == nil {
		return nil
	}
	return s.conn.Close()
}

// write sends text and flushes it, under a deadline where the writer
// supports one (httptest.ResponseRecorder does not). net/http clears the
// deadline when the handler returns.
func (s *Stream) write(text []byte) error {
	if s.conn != nil {
		if err := s.conn.SetWriteDeadline(time.Now().Add(WriteTimeout)); err != nil {
			return err
		}
		_, err := s.conn.Write(text)
		return err
	}
	if err := s.rc.SetWriteDeadline(time.Now().Add(WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := s.w.Write(text); err != nil {
		return err
	}
	return s.rc.Flush()
}

// LastEventID reads the Last-Event-ID header a reconnecting client sends;
// anything but a non-negative integer counts as absent.
func LastEventID(r *http.Request) (int64, bool) {
	v := strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// Heartbeat is one clock for the keep-alive pings of many streams: they all
// wait on the same channel rather than each holding a ticker.
type Heartbeat struct {
	every time.Duration
	mu    sync.Mutex
	beat  atomic.Pointer[chan struct{}]
}

// NewHeartbeat returns a Heartbeat that beats every interval while
// someone waits for it.
func NewHeartbeat(every time.Duration) *Heartbeat { return &Heartbeat{every: every} }

// C is closed at the next beat. The clock runs only while streams ask for
// it: the first to ask after a beat sets the next, so no goroutine or
// ticker outlives the streams.
func (hb *Heartbeat) C() <-chan struct{} {
	if c := hb.beat.Load(); c != nil {
		return *c
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if c := hb.beat.Load(); c != nil {
		return *c
	}
	c := make(chan struct{})
	hb.beat.Store(&c)
	time.AfterFunc(hb.every, func() {
		hb.mu.Lock()
		defer hb.mu.Unlock()
		close(*hb.beat.Swap(nil))
	})
	return c
}
