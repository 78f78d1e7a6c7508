package handlers

import (
	"context"
	"net/http"
	"slices"
	"time"

	"scribe/eventstream"
	"scribe/job"
	"scribe/relay"
	"scribe/store"
)

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
	jobs, err := h.resume(r.Context(), u, lastEventID(r))
	if err != nil {
		sub.Close()
		h.fail(w, r, err)
		return
	}
	v := viewJSON
	if htmlView(r) {
		v = viewRow
	}
	h.stream(w, r, sub, jobs, func(job.Job) bool { return true }, false, v)
}

// resume is what a user stream sends first: the jobs changed since
// shortly before Last-Event-ID, in the order they changed; or, for a new
// stream or one that missed more than resumeLimit changes, the recent
// jobs (the newest resumeLimit, oldest first so the page adds each on top).
func (h *Handler) resume(ctx context.Context, u store.User, last int64) ([]job.Job, error) {
	if last > 0 {
		jobs, err := h.Store.JobsChangedSince(ctx, u.ID, max(last-resumeLookback, 0), resumeLimit+1)
		if err != nil || len(jobs) <= resumeLimit {
			return jobs, err
		}
	}
	jobs, err := h.Store.JobsForUser(ctx, u.ID, min(jobListLimit, resumeLimit))
	slices.Reverse(jobs)
	return jobs, err
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
	j, err := h.Store.Job(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		sub.Close()
		h.fail(w, r, err)
		return
	}
	last := lastEventID(r)
	if j.Status.Final() && last >= j.Seq {
		sub.Close()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	v := viewJSON
	if htmlView(r) {
		v = viewPanel
	}
	h.stream(w, r, sub, []job.Job{j}, func(c job.Job) bool { return c.ID == j.ID }, true, v)
}

// stream sends the snapshot, then live changes that match, each as view v,
// until the browser leaves, the server drains, the subscription ends (it
// fell behind: the browser resumes), or (untilFinal) a final state or the
// job's deletion has been sent. It owns sub. After the snapshot the stream
// leaves the handler where it can (see eventstream.Detach), and follows
// the changes on a goroutine of its own that Wait waits for: an idle
// stream then holds its socket, a small stack, and sent.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, sub *relay.Subscription, snapshot []job.Job,
	match func(job.Job) bool, untilFinal bool, v view) {
	var first []byte
	for _, j := range snapshot {
		var frames []byte
		var err error
		if c := sub.Recent(j.ID, j.Seq); c != nil {
			frames, err = h.encoded(r.Context(), v, c)
		} else {
			frames, err = h.snapshotFrames(r.Context(), v, j)
		}
		if err != nil {
			sub.Close()
			h.fail(w, r, err)
			return
		}
		first = append(first, frames...)
		if untilFinal && j.Status.Final() {
			sub.Close()
			eventstream.Open(w, 2*time.Second, first)
			return
		}
	}
	// Counted before the connection leaves net/http, so the server's
	// Shutdown cannot return, and Wait begin, before the count is up.
	h.streams.Add(1)
	s, err := eventstream.Detach(w, r, 2*time.Second, first)
	if err != nil {
		h.streams.Done()
		sub.Close()
		return
	}
	f := follower{h: h, s: s, sub: sub, sent: newSentBefore(snapshot), match: match, untilFinal: untilFinal, view: v}
	if !s.Detached() {
		h.streams.Done()
		f.follow(r.Context())
		return
	}
	go func() {
		defer h.streams.Done()
		f.follow(context.Background())
	}()
}

// follower sends one stream's live changes.
type follower struct {
	h          *Handler
	s          *eventstream.Stream
	sub        *relay.Subscription
	sent       sentBefore
	match      func(job.Job) bool
	untilFinal bool
	view       view
}

// follow sends changes until the stream ends (see stream), then closes it.
func (f *follower) follow(ctx context.Context) {
	defer f.s.Close()
	defer f.sub.Close()
	for {
		changed := f.sub.Changed()
		for {
			c, err := f.sub.Next()
			if err != nil {
				return // fell behind (the browser resumes) or the relay stopped
			}
			if c == nil {
				break
			}
			if !f.match(c.Job) || f.sent.covers(c.Job) {
				continue
			}
			frames, err := f.h.encoded(ctx, f.view, c)
			if err != nil || f.s.Write(frames) != nil || f.untilFinal && (c.Deleted || c.Job.Status.Final()) {
				return
			}
		}
		select {
		case <-f.s.Gone():
			return
		case <-f.h.Shutdown:
			return
		case <-f.h.keepAlive.C():
			if err := f.s.Ping(); err != nil {
				return
			}
		case <-changed:
		}
	}
}

// Wait waits for the event streams that left their handlers, which end
// when Shutdown closes.
func (h *Handler) Wait() { h.streams.Wait() }
