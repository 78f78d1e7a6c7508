package engine

import "sync"

// subscriberBuffer is how many events a live subscriber may lag behind
// before it is dropped; a dropped SSE client reconnects with Last-Event-ID
// and replays from the store.
const subscriberBuffer = 16

// hub fans committed job events out to live subscribers. Publishing never
// blocks.
type hub struct {
	mu     sync.Mutex
	subs   map[string]map[*subscription]struct{} // by transcription id
	closed bool
}

// subscription is one live listener on one job. Events is closed when the
// subscriber is dropped, the job deleted or the hub closed.
type subscription struct {
	Events <-chan jobEvent

	ch   chan jobEvent
	once sync.Once
}

func (s *subscription) close() { s.once.Do(func() { close(s.ch) }) }

func newHub() *hub {
	return &hub{subs: map[string]map[*subscription]struct{}{}}
}

// Subscribe starts listening to a job's events. Call Unsubscribe when done.
func (h *hub) Subscribe(id string) *subscription {
	ch := make(chan jobEvent, subscriberBuffer)
	sub := &subscription{Events: ch, ch: ch}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		sub.close()
		return sub
	}
	if h.subs[id] == nil {
		h.subs[id] = map[*subscription]struct{}{}
	}
	h.subs[id][sub] = struct{}{}
	return sub
}

// Unsubscribe stops a subscription; calling it twice is harmless.
func (h *hub) Unsubscribe(id string, sub *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.remove(id, sub)
}

func (h *hub) remove(id string, sub *subscription) {
	if set := h.subs[id]; set != nil {
		delete(set, sub)
		if len(set) == 0 {
			delete(h.subs, id)
		}
	}
	sub.close()
}

// Publish hands ev to the job's subscribers, dropping any whose buffer is
// full.
func (h *hub) Publish(ev jobEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs[ev.TranscriptionID] {
		select {
		case sub.ch <- ev:
		default:
			h.remove(ev.TranscriptionID, sub)
		}
	}
}

// CloseJob ends every subscription to a job (it was deleted).
func (h *hub) CloseJob(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs[id] {
		h.remove(id, sub)
	}
}

// Close ends every subscription and refuses new ones, so SSE handlers
// return and the HTTP server can shut down.
func (h *hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for id, set := range h.subs {
		for sub := range set {
			h.remove(id, sub)
		}
	}
}

// Watched reports whether a job has live subscribers.
func (h *hub) Watched(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[id]) > 0
}

// WatchedJobs lists the jobs that have live subscribers.
func (h *hub) WatchedJobs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]string, 0, len(h.subs))
	for id := range h.subs {
		ids = append(ids, id)
	}
	return ids
}
