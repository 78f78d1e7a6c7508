// Package backstop polls the upstream for jobs whose webhook never came: a
// lost webhook costs latency, never a result.
package backstop

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"scribe/deepscript"
	"scribe/job"
	"scribe/metrics"
	"scribe/relay"
	"scribe/store"
)

// Poller checks stale jobs' status every Interval.
type Poller struct {
	store   *store.Store
	client  *deepscript.Client
	relay   *relay.Relay
	log     *slog.Logger
	metrics *metrics.Metrics
	// Interval is the time between sweeps.
	Interval time.Duration
	// StaleAfter is how long after submission a job counts as stale.
	StaleAfter time.Duration
	// resumeAt is when the upstream's last Retry-After ends: no poll is
	// sent before it. Used only by Run's goroutine.
	resumeAt time.Time
}

// New returns a Poller; nothing runs until Run.
func New(s *store.Store, c *deepscript.Client, r *relay.Relay, m *metrics.Metrics, log *slog.Logger, interval, staleAfter time.Duration) *Poller {
	return &Poller{store: s, client: c, relay: r, metrics: m, log: log, Interval: interval, StaleAfter: staleAfter}
}

// Run sweeps once at start and then every Interval until ctx ends.
func (p *Poller) Run(ctx context.Context) error {
	ticker := time.NewTicker(p.Interval)
	defer ticker.Stop()
	for {
		p.sweep(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func (p *Poller) sweep(ctx context.Context) {
	jobs, err := p.store.StaleJobs(ctx, p.store.Now().Add(-p.StaleAfter))
	if err != nil {
		p.log.Error("backstop: unable to list stale jobs", "error", err)
		return
	}
	for _, j := range jobs {
		// Rate limited: honour Retry-After for every job, not only the one
		// that drew the 429, and across sweeps.
		if wait := p.resumeAt.Sub(p.store.Now()); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return
		}
		if wait := p.poll(ctx, j); wait > 0 {
			p.resumeAt = p.store.Now().Add(wait)
		}
	}
}

// poll checks one job and returns how long the upstream asked us to wait.
func (p *Poller) poll(ctx context.Context, j job.Job) time.Duration {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	t, err := p.client.Status(pctx, j.UpstreamID)
	if ctx.Err() != nil {
		return 0
	}
	if err := p.relay.CountPoll(ctx, j.ID); err != nil {
		p.log.Error("backstop: unable to count poll", "job_id", j.ID, "error", err)
	}
	var apiErr *deepscript.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode == 429:
		p.metrics.Polls.WithLabelValues("rate_limited").Inc()
		return max(apiErr.RetryAfter, time.Second)
	case errors.As(err, &apiErr) && apiErr.StatusCode == 503 && apiErr.RetryAfter > 0:
		// Unavailable for a while, as the upstream says: no poll before then.
		p.metrics.Polls.WithLabelValues("error").Inc()
		return apiErr.RetryAfter
	case deepscript.IsNotFound(err):
		p.metrics.Polls.WithLabelValues("not_found").Inc()
		t = &deepscript.Transcription{ID: j.UpstreamID, Status: deepscript.StatusFailed,
			Error: &deepscript.ErrorBody{Code: deepscript.CodeNotFound}}
	case err != nil:
		p.metrics.Polls.WithLabelValues("error").Inc()
		p.log.Warn("backstop: poll failed", "job_id", j.ID, "upstream_id", j.UpstreamID, "error", err)
		return 0
	default:
		p.metrics.Polls.WithLabelValues("ok").Inc()
	}
	u := t.Update(job.ViaPoll)
	u.UpstreamID = j.UpstreamID
	_, err = p.relay.Apply(ctx, u)
	if err != nil && ctx.Err() == nil {
		p.log.Warn("backstop: unable to apply polled status", "job_id", j.ID, "error", err)
	}
	return 0
}
