// Package eventstream writes server-sent events (text/event-stream) to one
// client: the headers, a retry hint, events and keep-alive pings, each
// flushed at once and each bounded by a write deadline.
package eventstream

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WriteTimeout bounds each write, so a stalled client ties up its handler
// for at most this long. Servers that stream must not set
// http.Server.WriteTimeout, which would cut every stream; this replaces it
// per write.
const WriteTimeout = 10 * time.Second

// Stream writes events to one client. It is not safe for concurrent use.
type Stream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// Start answers 200 with the event-stream headers and sends retry, how long
// the client waits before it reconnects.
func Start(w http.ResponseWriter, retry time.Duration) (*Stream, error) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise buffer the stream
	w.WriteHeader(http.StatusOK)
	s := &Stream{w: w, rc: http.NewResponseController(w)}
	return s, s.write("retry: " + strconv.FormatInt(retry.Milliseconds(), 10) + "\n\n")
}

// Event writes one event: its id (which the client sends back as
// Last-Event-ID when it reconnects), its name, and its data as one data:
// line per line.
func (s *Stream) Event(id int64, name string, data []byte) error {
	var b strings.Builder
	b.WriteString("id: " + strconv.FormatInt(id, 10) + "\nevent: " + name + "\n")
	// A client splits lines at CR, LF or CRLF; each becomes a data: line
	// so none can end the event or start a field.
	text := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
	for line := range strings.SplitSeq(text, "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	return s.write(b.String())
}

// Ping writes a comment that keeps proxies from closing an idle stream.
func (s *Stream) Ping() error { return s.write(": ping\n\n") }

// write sends text and flushes it, under a deadline where the writer
// supports one (httptest.ResponseRecorder does not). net/http clears the
// deadline when the handler returns.
func (s *Stream) write(text string) error {
	if err := s.rc.SetWriteDeadline(time.Now().Add(WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := s.w.Write([]byte(text)); err != nil {
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
