package engine

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sseWriteTimeout bounds each write to an SSE client, so a stalled client
// costs one goroutine for at most this long. The server sets no
// WriteTimeout (it would cut every stream); this replaces it per write.
const sseWriteTimeout = 10 * time.Second

// sseRetryMillis is the reconnect delay sent once to each client.
const sseRetryMillis = 2000

// sseStream writes the text/event-stream framing and flushes each write.
type sseStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// startSSE sends the stream's headers and the retry hint.
func startSSE(w http.ResponseWriter) (*sseStream, error) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	s := &sseStream{w: w, rc: http.NewResponseController(w)}
	return s, s.write(fmt.Sprintf("retry: %d\n\n", sseRetryMillis))
}

// event writes one event: id, event name and the JSON data (one line, as
// encoding/json never emits raw newlines).
func (s *sseStream) event(ev jobEvent) error {
	return s.write(fmt.Sprintf("id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Type, ev.Data))
}

// ping writes a comment that keeps proxies from closing an idle stream.
func (s *sseStream) ping() error { return s.write(": ping\n\n") }

func (s *sseStream) write(text string) error {
	if err := s.rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := s.w.Write([]byte(text)); err != nil {
		return err
	}
	return s.rc.Flush()
}

// parseLastEventID reads the Last-Event-ID header; anything that is not a
// non-negative integer counts as absent.
func parseLastEventID(r *http.Request) (int64, bool) {
	v := strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	n, err := strconv.ParseInt(v, 10, 64)
	if v == "" || err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
