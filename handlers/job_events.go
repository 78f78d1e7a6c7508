package handlers

import (
	"context"
	"net/http"
	"slices"
	"time"

	"scribe/job"
	"scribe/relay"
	"scribe/store"
)

// sendJob writes one job's state to a browser's event stream.
type sendJob func(ctx context.Context, s *eventStream, j job.Job) error

// sendJSON writes the job as API clients read it (event: job).
func sendJSON(_ context.Context, s *eventStream, j job.Job) error { return s.send(j) }

// userEvents streams every change to the user's jobs: a snapshot of the
// recent jobs first (or, on reconnect, what changed since Last-Event-ID),
// then each change as it commits. One stream serves the whole list page,
// so many jobs never exhaust the browser's six connections per host. The
// list page asks for ?view=html and gets each job's rendered row.
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
	send := sendJSON
	if htmlView(r) {
		send = h.sendRow
	}
	h.stream(w, r, sub, jobs, func(j job.Job) bool { return true }, false, send)
}

// jobEvents streams one job's changes and ends after its final state. A
// reconnect to a finished job that has seen its final event gets 204, which
// tells EventSource to stop. The job page asks for ?view=html and gets its
// rendered status panel, then the transcript or failure at the end.
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
	send := sendJSON
	if htmlView(r) {
		send = h.sendPanel
	}
	h.stream(w, r, sub, []job.Job{j}, func(c job.Job) bool { return c.ID == j.ID }, true, send)
}

// stream sends the snapshot, then live changes that match, each through
// send, until the browser leaves, the server drains, the subscription is
// dropped for falling behind, or (untilFinal) a final state has been sent.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, sub *relay.Subscription, snapshot []job.Job,
	match func(job.Job) bool, untilFinal bool, send sendJob) {
	s, err := startEventStream(w)
	if err != nil {
		return
	}
	for _, j := range snapshot {
		if err := send(r.Context(), s, j); err != nil {
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
			if err := send(r.Context(), s, c.Job); err != nil {
				return
			}
			if untilFinal && c.Job.Status.Final() {
				return
			}
		}
	}
}
