package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"scribe/job"
	"strconv"
	"time"
)

const (
	// pingEvery keeps proxies from cutting an idle stream.
	pingEvery = 15 * time.Second
	// writeTimeout bounds each write, so a stalled browser ties up only its
	// own handler; there is no server-wide WriteTimeout to kill streams.
	writeTimeout = 10 * time.Second
	// resumeLookback re-sends jobs changed a little before Last-Event-ID:
	// a change committed just before another may be published just after
	// it. Rows are current state, so a re-send never moves a job backwards.
	resumeLookback = 64
)

// eventStream writes server-sent events to one browser.
type eventStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
	// lastSent is the seq of the newest state sent per job, so an older
	// state published late is never sent after a newer one.
	lastSent map[string]int64
}

func startEventStream(w http.ResponseWriter) (*eventStream, error) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &eventStream{w: w, rc: http.NewResponseController(w), lastSent: map[string]int64{}}
	return s, s.write("retry: 2000\n: stream open\n\n")
}

// send writes one job's state unless a newer one was already sent.
func (s *eventStream) send(j job.Job) error {
	if j.Seq <= s.lastSent[j.ID] {
		return nil
	}
	s.lastSent[j.ID] = j.Seq
	data, err := json.Marshal(toJSON(j))
	if err != nil {
		return err
	}
	return s.write(fmt.Sprintf("id: %d\nevent: job\ndata: %s\n\n", j.Seq, data))
}

// sendDeleted tells the browser a job is gone.
func (s *eventStream) sendDeleted(j job.Job) error {
	s.lastSent[j.ID] = j.Seq
	data, err := json.Marshal(map[string]string{"id": j.ID})
	if err != nil {
		return err
	}
	return s.write(fmt.Sprintf("id: %d\nevent: deleted\ndata: %s\n\n", j.Seq, data))
}

func (s *eventStream) ping() error { return s.write(": ping\n\n") }

func (s *eventStream) write(text string) error {
	s.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := fmt.Fprint(s.w, text); err != nil {
		return err
	}
	return s.rc.Flush()
}

// lastEventID reads Last-Event-ID; absent or malformed means none (0).
func lastEventID(r *http.Request) int64 {
	id, err := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
	if err != nil || id < 0 {
		return 0
	}
	return id
}
