package handlers

import (
	"encoding/json"
	"net/http"
	"time"

	"scribe/eventstream"
	"scribe/job"
)

const (
	// pingEvery keeps proxies from cutting an idle stream.
	pingEvery = 15 * time.Second
	// resumeLookback re-sends jobs changed a little before Last-Event-ID:
	// a change committed just before another may be published just after
	// it. Rows are current state, so a re-send never moves a job backwards.
	resumeLookback = 64
)

// eventStream writes jobs' states to one browser as server-sent events.
type eventStream struct {
	stream *eventstream.Stream
	// lastSent is the seq of the newest state sent per job, so an older
	// state published late is never sent after a newer one.
	lastSent map[string]int64
}

func startEventStream(w http.ResponseWriter) (*eventStream, error) {
	s, err := eventstream.Start(w, 2*time.Second)
	return &eventStream{stream: s, lastSent: map[string]int64{}}, err
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
	return s.stream.Event(j.Seq, "job", data)
}

// sendDeleted tells the browser a job is gone.
func (s *eventStream) sendDeleted(j job.Job) error {
	s.lastSent[j.ID] = j.Seq
	data, err := json.Marshal(map[string]string{"id": j.ID})
	if err != nil {
		return err
	}
	return s.stream.Event(j.Seq, "deleted", data)
}

func (s *eventStream) ping() error { return s.stream.Ping() }

// lastEventID reads Last-Event-ID; absent or malformed means none (0).
func lastEventID(r *http.Request) int64 {
	id, _ := eventstream.LastEventID(r)
	return id
}
