package relay

import (
	"context"
	"time"

	"scribe/deepscript"
	"scribe/job"
)

// A watcher is one active job the relay would like to follow upstream.
// It waits in the queue, then holds one of MaxStreams while its stream is
// open, then (after a completion seen on the stream) waits ResultGrace
// for the webhook without holding one.
type watcher struct {
	upstreamID string
	userID     int64
	cancel     context.CancelFunc // nil while queued
	streaming  bool               // holds one of MaxStreams
	preempted  bool               // stopped to give its stream to a watched job
}

// reschedule is how often the scheduler looks again at who is watching,
// besides when a stream ends, a job arrives or a browser subscribes.
const reschedule = time.Second

// watch asks for a submitted job's upstream events to be followed, unless
// they already are or the job is final.
func (r *Relay) watch(j job.Job) {
	if j.UpstreamID == "" || j.Status.Final() {
		return
	}
	r.mu.Lock()
	if r.wanted[j.UpstreamID] == nil {
		w := &watcher{upstreamID: j.UpstreamID, userID: j.UserID}
		r.wanted[j.UpstreamID] = w
		r.queue[w.userID] = append(r.queue[w.userID], w)
	}
	r.mu.Unlock()
	r.signalDemand()
}

// unwatch stops following a job, or stops it waiting to be followed.
func (r *Relay) unwatch(upstreamID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w := r.wanted[upstreamID]; w != nil {
		if w.cancel != nil {
			w.cancel()
		}
		delete(r.wanted, upstreamID) // a queued one is skipped when reached
	}
}

func (r *Relay) signalDemand() {
	select {
	case r.demand <- struct{}{}:
	default:
	}
}

// schedule hands out streams until ctx ends.
func (r *Relay) schedule(ctx context.Context) {
	ticker := time.NewTicker(reschedule)
	defer ticker.Stop()
	var rescan <-chan time.Time // other replicas' jobs, and those a dead one followed
	if r.store.Notifies() {
		t := time.NewTicker(rescanEvery)
		defer t.Stop()
		rescan = t.C
	}
	for {
		r.fill(ctx)
		select {
		case <-ctx.Done():
			return
		case <-r.demand:
		case <-ticker.C:
		case <-rescan:
			r.watchActive(ctx)
		}
	}
}

// fill starts streams for queued jobs while fewer than MaxStreams are
// open: first those of users with a browser open, then the others, one
// user at a time in turn. When watched jobs still wait, streams of
// unwatched ones are stopped and queued again to make room.
func (r *Relay) fill(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	watched := map[int64]bool{}
	isWatched := func(u int64) bool {
		v, ok := watched[u]
		if !ok {
			v = r.hub.watched(u)
			watched[u] = v
		}
		return v
	}
	var first, rest []int64
	for u := range r.queue {
		if isWatched(u) {
			first = append(first, u)
		} else {
			rest = append(rest, u)
		}
	}
	r.startTurns(ctx, first)
	if waiting := r.queuedOf(first); waiting > 0 && r.full() {
		var unwatched []*watcher
		for _, w := range r.wanted {
			switch {
			case !w.streaming:
			case w.preempted:
				waiting-- // its stream is about to come free
			case !isWatched(w.userID):
				unwatched = append(unwatched, w)
			}
		}
		for _, w := range unwatched[:max(0, min(waiting, len(unwatched)))] {
			w.preempted = true
			w.cancel()
		}
	}
	r.startTurns(ctx, rest)
}

// startTurns starts queued jobs of users, one per user in turn, until
// the cap is reached or their queues are empty; r.mu is held.
func (r *Relay) startTurns(ctx context.Context, users []int64) {
	for len(users) > 0 && !r.full() {
		next := users[:0]
		for _, u := range users {
			if r.full() {
				return
			}
			if w := r.pop(u); w != nil {
				r.start(ctx, w)
				next = append(next, u)
			}
		}
		users = next
	}
}

// full reports whether MaxStreams streams are open; r.mu is held.
func (r *Relay) full() bool { return r.MaxStreams > 0 && r.open >= r.MaxStreams }

// pop takes the next job of user u's queue that is still wanted; nil when
// none is. r.mu is held.
func (r *Relay) pop(u int64) *watcher {
	q := r.queue[u]
	defer func() {
		if len(q) == 0 {
			delete(r.queue, u)
		} else {
			r.queue[u] = q
		}
	}()
	for len(q) > 0 {
		w := q[0]
		q[0], q = nil, q[1:]
		if r.wanted[w.upstreamID] == w && w.cancel == nil {
			return w
		}
	}
	return nil
}

// queuedOf counts the queue entries of users (stale ones included, which
// at worst stops a stream too many); r.mu is held.
func (r *Relay) queuedOf(users []int64) int {
	n := 0
	for _, u := range users {
		n += len(r.queue[u])
	}
	return n
}

// start opens w's stream; r.mu is held.
func (r *Relay) start(ctx context.Context, w *watcher) {
	wctx, cancel := context.WithCancel(ctx)
	w.cancel, w.streaming = cancel, true
	r.open++
	r.metrics.UpstreamStreams.Set(float64(r.open))
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel()
		if !r.lockFollow(wctx, w.upstreamID) {
			r.release(ctx, w, false)
			return
		}
		defer r.unlockFollow(w.upstreamID)
		completed := r.follow(wctx, w.upstreamID)
		if r.release(ctx, w, completed != nil) {
			r.awaitResult(wctx, *completed)
		}
	}()
}

// release gives back w's stream. A preempted job is queued again; one
// whose stream ended on a completion stays wanted for its grace, which
// release reports; any other is no longer followed (final, or its stream
// refused: the backstop will follow up).
func (r *Relay) release(ctx context.Context, w *watcher, completed bool) (grace bool) {
	defer r.signalDemand()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.open--
	r.metrics.UpstreamStreams.Set(float64(r.open))
	w.streaming = false
	if r.wanted[w.upstreamID] != w {
		return false
	}
	switch {
	case ctx.Err() != nil:
		delete(r.wanted, w.upstreamID)
	case w.preempted:
		w.cancel, w.preempted = nil, false
		r.queue[w.userID] = append(r.queue[w.userID], w)
	case completed:
		return true
	default:
		delete(r.wanted, w.upstreamID)
	}
	return false
}

// follow streams one job's upstream events into Apply until the job is
// final or ctx ends. A completion (which streams carry without the
// result) is not applied but returned, for awaitResult. A stream that
// cannot be had is left to the backstop.
func (r *Relay) follow(ctx context.Context, upstreamID string) (completed *job.Update) {
	err := r.client.StreamEvents(ctx, upstreamID, func(ev deepscript.Event) {
		u := ev.Transcription.Update(job.ViaSSE)
		u.UpstreamID = upstreamID // the stream is the job's, whatever its events say
		if u.Status == job.StatusCompleted && u.Result == nil {
			completed = &u
			return
		}
		if _, err := r.Apply(ctx, u); err != nil && ctx.Err() == nil {
			r.log.Warn("relay: unable to apply stream event", "upstream_id", upstreamID, "error", err)
		}
	})
	if err != nil && ctx.Err() == nil {
		r.log.Info("relay: upstream stream ended; the backstop poll will follow up", "upstream_id", upstreamID, "error", err)
	}
	return completed
}

// awaitResult gives the webhook, which carries the result, ResultGrace to
// arrive after a stream said the job completed (applying the webhook
// cancels ctx), and only then fetches the result.
func (r *Relay) awaitResult(ctx context.Context, u job.Update) {
	defer r.unwatch(u.UpstreamID)
	t := time.NewTimer(r.ResultGrace)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	if _, err := r.Apply(ctx, u); err != nil && ctx.Err() == nil {
		r.log.Warn("relay: unable to apply a completion seen on the stream", "upstream_id", u.UpstreamID, "error", err)
	}
}
