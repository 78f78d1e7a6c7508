package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"scribe/eventstream"
	"scribe/job"
	"scribe/relay"
)

const (
	// pingEvery keeps proxies from cutting an idle stream.
	pingEvery = 15 * time.Second
	// resumeLookback re-sends jobs changed a little before Last-Event-ID:
	// a change committed just before another may be published just after
	// it. Rows are current state, so a re-send never moves a job backwards.
	resumeLookback = 64
	// resumeLimit bounds a resume: a browser that missed more changes
	// than this gets a fresh snapshot instead.
	resumeLimit = 200
)

// sentBefore is what a stream's snapshot sent, kept small: a change
// committed before the snapshot was read but published after it must not
// be sent after the newer state the snapshot carried.
type sentBefore struct {
	// floor: a change at or below it is older than the snapshot by more
	// than resumeLookback, so it is already covered (the lookback bounds
	// how late a change is published).
	floor  int64
	recent []sentJob // the snapshot's jobs above floor
}

type sentJob struct {
	id  string
	seq int64
}

func newSentBefore(snapshot []job.Job) sentBefore {
	var top int64
	for _, j := range snapshot {
		top = max(top, j.Seq)
	}
	s := sentBefore{floor: top - resumeLookback}
	for _, j := range snapshot {
		if j.Seq > s.floor {
			s.recent = append(s.recent, sentJob{j.ID, j.Seq})
		}
	}
	return s
}

// covers reports whether the snapshot already sent j's state or a newer one.
func (s sentBefore) covers(j job.Job) bool {
	return j.Seq <= s.floor || slices.ContainsFunc(s.recent, func(r sentJob) bool { return r.id == j.ID && r.seq >= j.Seq })
}

// view is the form a stream sends jobs in.
type view int

const (
	viewJSON  view = iota // the job JSON, as API clients read it (event: job)
	viewRow               // the list page's row (event: row)
	viewPanel             // the job page's panel, and its body at the end (event: panel, body)
)

// encode is one change to a job as the events a stream of view v writes.
func (h *Handler) encode(ctx context.Context, v view, j job.Job, deleted bool) ([]byte, error) {
	if deleted {
		data, err := json.Marshal(map[string]string{"id": j.ID})
		return eventstream.Frame(j.Seq, "deleted", data), err
	}
	switch v {
	case viewRow:
		return h.encodeRow(ctx, j)
	case viewPanel:
		return h.encodePanel(ctx, j)
	}
	data, err := json.Marshal(toJSON(j))
	return eventstream.Frame(j.Seq, "job", data), err
}

// lastEventID reads Last-Event-ID; absent or malformed means none (0).
func lastEventID(r *http.Request) int64 {
	id, _ := eventstream.LastEventID(r)
	return id
}

// encoded is a relay change as the events of view v, encoded once for
// every stream that sends it.
func (h *Handler) encoded(ctx context.Context, v view, c *relay.Change) ([]byte, error) {
	return c.Encoded(v, func() ([]byte, error) { return h.encode(ctx, v, c.Job, c.Deleted) })
}

// frameCache shares the encoded events of the states snapshots send: tabs
// reconnecting together send the same few states again and again. A job's
// id and seq name one state of it. Job pages' panels, which may carry a
// whole transcript, are not kept; when the cache holds frameCacheBytes it
// starts over.
type frameCache struct {
	mu     sync.Mutex
	frames map[frameKey][]byte
	bytes  int
}

type frameKey struct {
	id   string
	seq  int64
	view view
}

const frameCacheBytes = 4 << 20

// snapshotFrames is j's state as the events of view v, from the cache
// when another snapshot sent it already.
func (h *Handler) snapshotFrames(ctx context.Context, v view, j job.Job) ([]byte, error) {
	if v == viewPanel {
		return h.encode(ctx, v, j, false)
	}
	c := &h.snapshots
	key := frameKey{j.ID, j.Seq, v}
	c.mu.Lock()
	frames, ok := c.frames[key]
	c.mu.Unlock()
	if ok {
		return frames, nil
	}
	frames, err := h.encode(ctx, v, j, false)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frames == nil || c.bytes+len(frames) > frameCacheBytes {
		c.frames, c.bytes = map[frameKey][]byte{}, 0
	}
	c.frames[key] = frames
	c.bytes += len(frames)
	return frames, nil
}
