package handlers

import (
	"net/http"
	"slices"
	"time"

	"scribe/job"
	"scribe/relay"
	"scribe/store"
)

// userEvents streams every change to the user's jobs: a snapshot of the
// recent jobs first (or, on reconnect, what changed since Last-Event-ID),
// then each change as it commits. One stream serves the whole list page,
// so many jobs never exhaust the browser's six connections per host.
func (h *Handler) userEvents(w http.ResponseWriter, r *http.Request, u store.User) {
	sub, err := h.Relay.Subscribe(u.ID, h.cfg.Limits.StreamsPerUser)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer sub.Close()
	var jobs []job.Job
	if last := lastEventID(r); last > 0 {
		jobs, err = h.Store.JobsChangedSince(r.Context(), u.ID, max(last-resumeLookback, 0))
	} else {
		jobs, err = h.Store.JobsForUser(r.Context(), u.ID, jobListLimit)
		slices.Reverse(jobs) // oldest first, so ids grow along the stream
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.stream(w, r, sub, jobs, func(j job.Job) bool { return true }, false)
}

// jobEvents streams one job's changes and ends after its final state. A
// reconnect to a finished job that has seen its final event gets 204, which
// tells EventSource to stop.
func (h *Handler) jobEvents(w http.ResponseWriter, r *http.Request, u store.User) {
	sub, err := h.Relay.Subscribe(u.ID, h.cfg.Limits.StreamsPerUser)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer sub.Close()
	j, err := h.Store.Job(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	last := lastEventID(r)
	if j.Status.Final() && last >= j.Seq {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.stream(w, r, sub, []job.Job{j}, func(c job.Job) bool { return c.ID == j.ID }, true)
}

// stream sends the snapshot, then live changes that match, until the
// browser leaves, the server drains, the subscription is dropped for
// falling behind, or (untilFinal) a final state has been sent.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, sub *relay.Subscription, snapshot []job.Job,
	match func(job.Job) bool, untilFinal bool) {
	s, err := startEventStream(w)
	if err != nil {
		return
	}
	for _, j := range snapshot {
		if err := s.send(j); err != nil {
			return
		}
		if untilFinal && j.Status.Final() {
			return
		}
	}
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.Shutdown:
			return
		case <-ping.C:
			if err := s.ping(); err != nil {
				return
			}
		case c, ok := <-sub.C:
			if !ok {
				return // dropped for falling behind; the browser resumes
			}
			if !match(c.Job) {
				continue
			}
			if c.Deleted {
				if err := s.sendDeleted(c.Job); err != nil || untilFinal {
					return
				}
				continue
			}
			if err := s.send(c.Job); err != nil {
				return
			}
			if untilFinal && c.Job.Status.Final() {
				return
			}
		}
	}
}
