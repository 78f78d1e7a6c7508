package relay

import (
	"sync"

	"scribe/job"
	"scribe/metrics"
)

// subscriberBuffer is how many changes a browser stream may fall behind
// before it is dropped; EventSource then reconnects and resumes from its
// Last-Event-ID, so a slow browser loses nothing and delays no one.
const subscriberBuffer = 64

// Change is one committed change to a job: its state now, or its deletion.
type Change struct {
	Job     job.Job
	Deleted bool
}

// Subscription receives one user's job changes on C. C is closed when the
// subscriber falls behind or the relay stops.
type Subscription struct {
	C      <-chan Change
	c      chan Change
	userID int64
	hub    *hub
	once   sync.Once
	m      *metrics.Metrics
}

// Close ends the subscription; it is safe to call more than once.
func (s *Subscription) Close() {
	s.hub.remove(s)
}

type hub struct {
	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	perUser map[int64]int
}

// subscribe adds a subscriber for userID unless the user already has max
// (0: no limit).
func (h *hub) subscribe(userID int64, max int, m *metrics.Metrics) (*Subscription, error) {
	ch := make(chan Change, subscriberBuffer)
	s := &Subscription{C: ch, c: ch, userID: userID, hub: h, m: m}
	h.mu.Lock()
	defer h.mu.Unlock()
	if max > 0 && h.perUser[userID] >= max {
		return nil, ErrTooManyStreams
	}
	h.subs[s] = struct{}{}
	h.perUser[userID]++
	m.BrowserStreams.Inc()
	return s, nil
}

// publish never blocks: a subscriber whose buffer is full is dropped.
func (h *hub) publish(c Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.userID != c.Job.UserID {
			continue
		}
		select {
		case s.c <- c:
		default:
			h.removeLocked(s)
		}
	}
}

// watched reports whether userID has a browser subscription open.
func (h *hub) watched(userID int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.perUser[userID] > 0
}

func (h *hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(s)
}

func (h *hub) removeLocked(s *Subscription) {
	delete(h.subs, s)
	s.once.Do(func() {
		if h.perUser[s.userID]--; h.perUser[s.userID] <= 0 {
			delete(h.perUser, s.userID)
		}
		close(s.c)
		s.m.BrowserStreams.Dec()
	})
}

func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		h.removeLocked(s)
	}
}
