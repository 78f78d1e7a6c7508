package relay

import (
	"context"

	"scribe/deepscript"
	"scribe/job"
)

// watch follows a submitted job's upstream event stream, unless it is
// already followed, final, or the relay is stopping.
func (r *Relay) watch(j job.Job) {
	if j.UpstreamID == "" || j.Status.Final() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil {
		r.pending = append(r.pending, j)
		return
	}
	if r.ctx.Err() != nil || r.watchers[j.UpstreamID] != nil {
		return
	}
	ctx, cancel := context.WithCancel(r.ctx)
	r.watchers[j.UpstreamID] = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer r.unwatch(j.UpstreamID)
		r.metrics.UpstreamStreams.Inc()
		defer r.metrics.UpstreamStreams.Dec()
		r.follow(ctx, j.UpstreamID)
	}()
}

func (r *Relay) unwatch(upstreamID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cancel := r.watchers[upstreamID]; cancel != nil {
		cancel()
		delete(r.watchers, upstreamID)
	}
}

// follow streams one job's upstream events into Apply until the job is
// final or ctx ends. A stream that cannot be had is left to the backstop.
func (r *Relay) follow(ctx context.Context, upstreamID string) {
	err := r.client.StreamEvents(ctx, upstreamID, func(ev deepscript.Event) {
		u := ev.Transcription.Update(job.ViaSSE)
		u.UpstreamID = upstreamID // the stream is the job's, whatever its events say
		if _, err := r.Apply(ctx, u); err != nil && ctx.Err() == nil {
			r.log.Warn("relay: unable to apply stream event", "upstream_id", upstreamID, "error", err)
		}
	})
	if err != nil && ctx.Err() == nil {
		r.log.Info("relay: upstream stream ended; the backstop poll will follow up", "upstream_id", upstreamID, "error", err)
	}
}
