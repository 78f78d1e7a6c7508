// Package backstop polls the upstream for jobs whose webhook never came: a
// lost webhook costs latency, never a result.
//
// Each job is polled on its own schedule (see Schedule), kept in the
// store so a restart resumes it; a sweep reads only the jobs that are due,
// polls a few at a time, and stops every poll while the upstream's
// Retry-After lasts.
package backstop

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"scribe/deepscript"
	"scribe/job"
	"scribe/metrics"
	"scribe/relay"
	"scribe/store"
)

// claimBatch is how many due jobs one store transaction takes at a time.
const claimBatch = 500

// Schedule is when an unfinished job's status is polled: first when it
// turns stale, StaleAfter after submission, then First later, and after
// each poll twice the previous wait, never more than Max.
type Schedule struct {
	StaleAfter time.Duration
	First      time.Duration
	Max        time.Duration
}

// Gap is the wait after a job's poll number polls+1 (polls polls before it).
func (s Schedule) Gap(polls int) time.Duration {
	d := s.First
	for range polls {
		if d >= s.Max/2 {
			return s.Max
		}
		d *= 2
	}
	return min(d, s.Max)
}

// PollsWithin is how many times a job that never finishes is polled in
// the first d after its submission.
func (s Schedule) PollsWithin(d time.Duration) int {
	n := 0
	for at := s.StaleAfter; at <= d; at += s.Gap(n - 1) {
		n++
	}
	return n
}

// Poller polls due jobs' status. Set its exported fields before Run.
type Poller struct {
	store   *store.Store
	client  *deepscript.Client
	relay   *relay.Relay
	log     *slog.Logger
	metrics *metrics.Metrics
	// Interval is the first wait between a job's polls, and the longest
	// the poller sleeps between sweeps.
	Interval time.Duration
	// MaxInterval caps the wait between a job's polls.
	MaxInterval time.Duration
	// StaleAfter is how long after submission a job is first polled.
	StaleAfter time.Duration
	// Concurrency is how many polls may be in flight at once.
	Concurrency int

	mu sync.Mutex
	// resumeAt is when the upstream's last Retry-After ends: no poll of
	// any job is sent before it.
	resumeAt time.Time
}

// New returns a Poller with a 2 h cap and 4 polls at a time; nothing runs
// until Run.
func New(s *store.Store, c *deepscript.Client, r *relay.Relay, m *metrics.Metrics, log *slog.Logger, interval, staleAfter time.Duration) *Poller {
	return &Poller{store: s, client: c, relay: r, metrics: m, log: log,
		Interval: interval, MaxInterval: 2 * time.Hour, StaleAfter: staleAfter, Concurrency: 4}
}

// Schedule is the poll schedule the Poller follows.
func (p *Poller) Schedule() Schedule {
	return Schedule{StaleAfter: p.StaleAfter, First: p.Interval, Max: max(p.MaxInterval, p.Interval)}
}

// Run sweeps at start, then whenever the next job is due (at least every
// Interval, so newly stale jobs are found), until ctx ends.
func (p *Poller) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		if p.sweep(ctx) {
			timer.Reset(p.untilNext(ctx))
		} else {
			timer.Reset(p.Interval) // the store failed: try again later, not at once
		}
	}
}

// untilNext is how long to sleep before the next due poll, at most
// Interval; a short floor keeps a job that fell due during the sweep from
// spinning the loop.
func (p *Poller) untilNext(ctx context.Context) time.Duration {
	next, err := p.store.NextPollAt(ctx, p.StaleAfter)
	if err != nil {
		p.log.Error("backstop: unable to find the next due poll", "error", err)
	}
	if err != nil || next.IsZero() {
		return p.Interval
	}
	return min(max(next.Sub(p.store.Now()), 10*time.Millisecond), p.Interval)
}

// sweep polls every job that is due, claimBatch at a time; false when
// the store could not say which are.
func (p *Poller) sweep(ctx context.Context) bool {
	sched := p.Schedule()
	for ctx.Err() == nil {
		if !p.waitResume(ctx) {
			return true
		}
		// The poll schedule is the backstop's own bookkeeping, read by
		// nothing else; job state still changes only through the relay.
		now := p.store.Now()
		jobs, err := p.store.ClaimDuePolls(ctx, now, now.Add(-p.StaleAfter), claimBatch,
			func(polls int) time.Time { return now.Add(sched.Gap(polls)) })
		if err != nil {
			p.log.Error("backstop: unable to list due jobs", "error", err)
			return false
		}
		var g errgroup.Group
		g.SetLimit(max(p.Concurrency, 1))
		for _, j := range jobs {
			g.Go(func() error {
				if p.waitResume(ctx) {
					p.poll(ctx, j)
				}
				return nil
			})
		}
		g.Wait()
		if len(jobs) < claimBatch {
			return true
		}
	}
	return true
}

// waitResume waits until the upstream's Retry-After has passed; false
// when ctx ended first.
func (p *Poller) waitResume(ctx context.Context) bool {
	for {
		p.mu.Lock()
		wait := p.resumeAt.Sub(p.store.Now())
		p.mu.Unlock()
		if wait <= 0 {
			return ctx.Err() == nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// hold stops every poll for d, and puts the job that was told so back on
// the schedule for when it ends.
func (p *Poller) hold(ctx context.Context, j job.Job, d time.Duration) {
	p.mu.Lock()
	at := p.store.Now().Add(d)
	if at.After(p.resumeAt) {
		p.resumeAt = at
	}
	at = p.resumeAt
	p.mu.Unlock()
	if err := p.store.SchedulePoll(ctx, j.ID, at); err != nil && ctx.Err() == nil {
		p.log.Error("backstop: unable to reschedule a poll", "job_id", j.ID, "error", err)
	}
}

// poll checks one job and applies what it learns. A poll that finds
// nothing new writes nothing.
func (p *Poller) poll(ctx context.Context, j job.Job) {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	t, err := p.client.Status(pctx, j.UpstreamID)
	if ctx.Err() != nil {
		return
	}
	var apiErr *deepscript.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode == 429:
		// Rate limited: honour Retry-After for every job, not only the
		// one that drew the 429, and across sweeps.
		p.metrics.Polls.WithLabelValues("rate_limited").Inc()
		p.hold(ctx, j, max(apiErr.RetryAfter, time.Second))
		return
	case errors.As(err, &apiErr) && apiErr.StatusCode == 503 && apiErr.RetryAfter > 0:
		// Unavailable for a while, as the upstream says: no poll before then.
		p.metrics.Polls.WithLabelValues("error").Inc()
		p.hold(ctx, j, apiErr.RetryAfter)
		return
	case deepscript.IsNotFound(err):
		p.metrics.Polls.WithLabelValues("not_found").Inc()
		t = &deepscript.Transcription{ID: j.UpstreamID, Status: deepscript.StatusFailed,
			Error: &deepscript.ErrorBody{Code: deepscript.CodeNotFound}}
	case err != nil:
		p.metrics.Polls.WithLabelValues("error").Inc()
		p.log.Warn("backstop: poll failed", "job_id", j.ID, "upstream_id", j.UpstreamID, "error", err)
		return
	default:
		p.metrics.Polls.WithLabelValues("ok").Inc()
	}
	u := t.Update(job.ViaPoll)
	u.UpstreamID = j.UpstreamID
	// j is as claimed; news since then only moved it further, so what
	// would not move j moves nothing.
	if _, moves := job.Advance(j, u); !moves {
		return
	}
	if _, err := p.relay.Apply(ctx, u); err != nil && ctx.Err() == nil {
		p.log.Warn("backstop: unable to apply polled status", "job_id", j.ID, "error", err)
	}
}
