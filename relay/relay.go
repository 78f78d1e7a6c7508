// Package relay is the one place where news of an upstream job — from a
// webhook, the upstream's event stream or a backstop poll — becomes state:
// it applies the forward-only rule, commits, and then publishes the change
// to browser streams. It also owns one upstream event subscription per
// active job.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"scribe/deepscript"
	"scribe/metrics"
	"scribe/store"
)

// Relay applies updates and fans them out. Create it with New and start it
// with Run.
type Relay struct {
	store   *store.Store
	client  *deepscript.Client
	log     *slog.Logger
	metrics *metrics.Metrics
	hub     hub

	mu       sync.Mutex
	ctx      context.Context // Run's context; nil until Run starts
	pending  []store.Job     // asked to be watched before Run started
	watchers map[string]context.CancelFunc
	wg       sync.WaitGroup
}

// New returns a Relay; nothing runs until Run.
func New(s *store.Store, c *deepscript.Client, m *metrics.Metrics, log *slog.Logger) *Relay {
	return &Relay{store: s, client: c, metrics: m, log: log, watchers: map[string]context.CancelFunc{},
		hub: hub{subs: map[*Subscription]struct{}{}}}
}

// Run watches every active job's upstream stream until ctx ends, then stops
// all watchers and ends all browser subscriptions.
func (r *Relay) Run(ctx context.Context) error {
	r.mu.Lock()
	r.ctx = ctx
	pending := r.pending
	r.pending = nil
	r.mu.Unlock()
	jobs, err := r.store.ActiveJobs(ctx)
	if err != nil {
		r.log.Error("relay: unable to list active jobs", "error", err)
	}
	for _, j := range append(jobs, pending...) {
		r.Watch(j)
	}
	<-ctx.Done()
	r.mu.Lock()
	for id, cancel := range r.watchers {
		cancel()
		delete(r.watchers, id)
	}
	r.mu.Unlock()
	r.wg.Wait()
	r.hub.closeAll()
	return nil
}

// Watch subscribes to a submitted job's upstream event stream, unless it is
// already watched, final, or the relay is stopping.
func (r *Relay) Watch(j store.Job) {
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

// Forget stops following a job's upstream stream (its job was deleted).
func (r *Relay) Forget(upstreamID string) { r.unwatch(upstreamID) }

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
		t := ev.Transcription
		u := store.Update{UpstreamID: upstreamID, Status: t.Status, Progress: t.Progress,
			Via: store.ViaSSE, UpstreamAt: t.UpdatedAt, Error: FailureMessage(t.Error)}
		if _, err := r.Apply(ctx, u); err != nil && ctx.Err() == nil {
			r.log.Warn("relay: unable to apply stream event", "upstream_id", upstreamID, "error", err)
		}
	})
	if err != nil && ctx.Err() == nil {
		r.log.Info("relay: upstream stream ended; the backstop poll will follow up", "upstream_id", upstreamID, "error", err)
	}
}

// Apply records an update and publishes the change. A completed update
// without its transcript fetches it first. It returns whether the job
// changed; store.ErrNotFound when no job has that upstream id.
func (r *Relay) Apply(ctx context.Context, u store.Update) (bool, error) {
	if u.Status == deepscript.StatusCompleted && u.Result == nil {
		j, err := r.store.JobByUpstreamID(ctx, u.UpstreamID)
		if err != nil {
			return false, err
		}
		if j.Status.Final() {
			return false, nil // nothing to fetch: the job already ended
		}
		t, err := r.fetch(ctx, u.UpstreamID)
		if err != nil {
			return false, err
		}
		if t.Status != deepscript.StatusCompleted || t.Result == nil {
			return false, fmt.Errorf("relay: upstream said %s completed but serves it as %s", u.UpstreamID, t.Status)
		}
		u.Result = t.Result
	}
	j, changed, err := r.store.ApplyUpdate(ctx, u)
	if err != nil || !changed {
		return false, err
	}
	r.hub.publish(j)
	if j.Status.Final() {
		r.metrics.JobsFinished.WithLabelValues(j.CompletedVia, string(j.Status)).Inc()
		r.unwatch(j.UpstreamID)
	}
	return true, nil
}

func (r *Relay) fetch(ctx context.Context, upstreamID string) (*deepscript.Transcription, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	t, err := r.client.Transcription(ctx, upstreamID)
	if err != nil {
		return nil, fmt.Errorf("relay: unable to fetch result of %s: %w", upstreamID, err)
	}
	return t, nil
}

// Adopt handles news of an upstream job we have not recorded: if the
// upstream echoes, as metadata, the submit key of one of our jobs still
// waiting for its create answer (lost, or not back yet), that job takes the
// upstream id now. store.ErrNotFound when the job is not ours.
func (r *Relay) Adopt(ctx context.Context, upstreamID string) error {
	t, err := r.fetch(ctx, upstreamID)
	if deepscript.IsNotFound(err) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	j, err := r.store.JobAwaitingUpstreamID(ctx, t.Metadata)
	if err != nil {
		return err
	}
	if j, err = r.store.MarkSubmitted(ctx, j.ID, *t); err != nil {
		return err
	}
	r.log.Info("relay: adopted an upstream job before its create answer", "job_id", j.ID, "upstream_id", upstreamID)
	r.hub.publish(j)
	r.Watch(j)
	return nil
}

// Publish announces a change made outside Apply (upload, submit, retry,
// delete) to the owner's browser streams.
func (r *Relay) Publish(j store.Job) { r.hub.publish(j) }

// Subscribe starts a browser subscription to one user's job changes.
func (r *Relay) Subscribe(userID int64) *Subscription {
	return r.hub.subscribe(userID, r.metrics)
}

// FailureMessage turns an upstream error into words a person understands.
func FailureMessage(e *deepscript.ErrorBody) string {
	if e == nil {
		return ""
	}
	switch e.Code {
	case deepscript.CodeUnsupportedMedia:
		return "The file could not be read as audio. " + e.Message
	case deepscript.CodeFileTooLarge:
		return "The file is larger than the transcription service accepts."
	case deepscript.CodeInsufficientBalance:
		return "The transcription service's balance is used up; try again once it is topped up."
	}
	if e.Message != "" {
		return e.Message
	}
	return "Transcription failed (" + e.Code + ")."
}

// IsUnknownJob reports whether err means no job has that upstream id.
func IsUnknownJob(err error) bool { return errors.Is(err, store.ErrNotFound) }
