package relay

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"scribe/job"
	"scribe/metrics"
)

// ringSize is how many changes a browser stream may fall behind before it
// is dropped; EventSource then reconnects and resumes from its
// Last-Event-ID, so a slow browser loses nothing and delays no one.
const ringSize = 64

// Ends of a subscription, as Next reports them.
var (
	// ErrFellBehind: the subscriber missed changes that are no longer kept.
	ErrFellBehind = errors.New("relay: subscriber fell behind")
	// ErrStopped: the relay stopped.
	ErrStopped = errors.New("relay: stopped")
)

// Change is one committed change to a job: its state now, or its deletion.
// One Change is shared by every stream of the job's owner, and so is what
// they write for it (see Encoded).
type Change struct {
	Job     job.Job
	Deleted bool

	pos      uint64 // place in its user's sequence of changes
	mu       sync.Mutex
	encoding atomic.Pointer[[]encoding] // copied on write, so reads take no lock
}

type encoding struct {
	form any
	data []byte
}

// Encoded is the change in a form (an event of one view, say), made by
// encode on first use and shared by every stream after: a change to a user
// with many tabs open is encoded once per form, not once per tab. Errors
// are not kept, so the next stream tries again.
func (c *Change) Encoded(form any, encode func() ([]byte, error)) ([]byte, error) {
	if data, ok := c.lookup(form); ok {
		return data, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if data, ok := c.lookup(form); ok {
		return data, nil
	}
	data, err := encode()
	if err != nil {
		return nil, err
	}
	var all []encoding
	if p := c.encoding.Load(); p != nil {
		all = slices.Clone(*p)
	}
	all = append(all, encoding{form, data})
	c.encoding.Store(&all)
	return data, nil
}

func (c *Change) lookup(form any) ([]byte, bool) {
	if p := c.encoding.Load(); p != nil {
		for _, e := range *p {
			if e.form == form {
				return e.data, true
			}
		}
	}
	return nil, false
}

// topic is one user's recent changes, read by each of their streams at its
// own pace: publishing writes a change once, whatever the number of
// streams, and wakes them all by closing one channel.
type topic struct {
	ring      [ringSize]atomic.Pointer[Change]
	published atomic.Uint64                 // changes ever written to ring
	changed   atomic.Pointer[chan struct{}] // closed, and replaced, on each publish
	stopped   atomic.Bool
	lost      atomic.Bool // changes may have been missed: every reader fell behind

	// Under hub.mu:
	streams int
	latest  map[string]int64 // seq of each job's newest change in ring
}

func newTopic(stopped bool) *topic {
	t := &topic{latest: map[string]int64{}}
	ch := make(chan struct{})
	t.changed.Store(&ch)
	t.stopped.Store(stopped)
	return t
}

// wake tells every waiting stream to read; under hub.mu.
func (t *topic) wake() {
	ch := make(chan struct{})
	close(*t.changed.Swap(&ch))
}

// Subscription follows one user's job changes: wait on Changed, then read
// with Next until it returns nil. It is not safe for concurrent use.
type Subscription struct {
	hub    *hub
	userID int64
	topic  *topic
	next   uint64 // pos of the next change to read
	closed bool   // under hub.mu
}

// Changed is closed when a change may be waiting for Next, or when the
// subscription has ended. Take it before calling Next, so a change
// published in between is not missed.
func (s *Subscription) Changed() <-chan struct{} { return *s.topic.changed.Load() }

// Next returns the next change, or nil when none is waiting yet. It fails
// with ErrFellBehind when changes were missed, ErrStopped when the relay
// stopped.
func (s *Subscription) Next() (*Change, error) {
	if s.topic.stopped.Load() {
		return nil, ErrStopped
	}
	if s.topic.lost.Load() {
		return nil, ErrFellBehind
	}
	if s.next >= s.topic.published.Load() {
		return nil, nil
	}
	c := s.topic.ring[s.next%ringSize].Load()
	if c.pos != s.next {
		return nil, ErrFellBehind // overwritten by a newer change
	}
	s.next++
	return c, nil
}

// Recent returns the change that gave a job the state seq, if it is still
// kept, so a stream sending that state can use its shared encodings.
func (s *Subscription) Recent(jobID string, seq int64) *Change {
	for i := range s.topic.ring {
		if c := s.topic.ring[i].Load(); c != nil && c.Job.Seq == seq && c.Job.ID == jobID {
			return c
		}
	}
	return nil
}

// Close ends the subscription; it is safe to call more than once.
func (s *Subscription) Close() { s.hub.remove(s) }

type hub struct {
	m       *metrics.Metrics
	mu      sync.Mutex
	topics  map[int64]*topic
	stopped bool
}

func newHub(m *metrics.Metrics) *hub { return &hub{m: m, topics: map[int64]*topic{}} }

// subscribe adds a subscriber for userID unless the user already has max
// (0: no limit). It reads only changes published after it.
func (h *hub) subscribe(userID int64, max int) (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[userID]
	if t == nil {
		t = newTopic(h.stopped)
		h.topics[userID] = t
	}
	if max > 0 && t.streams >= max {
		return nil, ErrTooManyStreams
	}
	t.streams++
	h.m.BrowserStreams.Inc()
	return &Subscription{hub: h, userID: userID, topic: t, next: t.published.Load()}, nil
}

// publish never blocks and costs the same whatever the number of streams.
// A change older than one already kept for the same job (published late by
// a slower writer) is left out: streams never go back to an older state.
func (h *hub) publish(c *Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[c.Job.UserID]
	if t == nil {
		return // nobody is watching
	}
	if seq, ok := t.latest[c.Job.ID]; ok && seq >= c.Job.Seq {
		return
	}
	c.pos = t.published.Load()
	slot := &t.ring[c.pos%ringSize]
	if old := slot.Load(); old != nil && t.latest[old.Job.ID] == old.Job.Seq {
		delete(t.latest, old.Job.ID)
	}
	slot.Store(c)
	t.latest[c.Job.ID] = c.Job.Seq
	t.published.Add(1)
	t.wake()
}

// watched reports whether userID has a browser subscription open.
func (h *hub) watched(userID int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[userID]
	return t != nil && t.streams > 0
}

func (h *hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	h.m.BrowserStreams.Dec()
	if s.topic.streams--; s.topic.streams == 0 && h.topics[s.userID] == s.topic {
		delete(h.topics, s.userID)
	}
}

// dropAll ends every subscription as fallen behind, so each browser
// resumes from its Last-Event-ID, read from the store: for when changes
// may have been missed.
func (h *hub) dropAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for u, t := range h.topics {
		t.lost.Store(true)
		t.wake()
		delete(h.topics, u)
	}
}

// closeAll ends every subscription, and those made after.
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	for _, t := range h.topics {
		t.stopped.Store(true)
		t.wake()
	}
}
