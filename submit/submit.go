// Package submit sends uploaded jobs to the upstream. Each job row is
// committed before the first attempt; failed or timed-out attempts are
// retried with backoff, always with the job's Idempotency-Key, so a retry
// never creates a second upstream job.
package submit

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"scribe/deepscript"
	"scribe/job"
	"scribe/metrics"
	"scribe/relay"
	"scribe/store"
)

// claimBatch is how many due jobs the submitter claims at a time: few,
// since a replica that dies holds them until their leases run out.
const claimBatch = 4

// Submitter drains the queue of jobs waiting to be sent upstream.
type Submitter struct {
	store   *store.Store
	client  *deepscript.Client
	relay   *relay.Relay
	log     *slog.Logger
	metrics *metrics.Metrics
	// WebhookURL is where the upstream delivers each job's events.
	WebhookURL string
	// Backoff is the wait before attempt tries+1 after a temporary failure.
	Backoff func(tries int) time.Duration
	// registered is whether the upstream holds our webhook endpoint; Run
	// registers it before submitting, and again after a 422.
	registered bool
}

// New returns a Submitter; nothing runs until Run.
func New(s *store.Store, c *deepscript.Client, r *relay.Relay, m *metrics.Metrics, log *slog.Logger, webhookURL string) *Submitter {
	return &Submitter{store: s, client: c, relay: r, metrics: m, log: log, WebhookURL: webhookURL,
		Backoff: ExponentialBackoff}
}

// ExponentialBackoff waits 1 s, 2 s, 4 s … up to 5 min.
func ExponentialBackoff(tries int) time.Duration {
	return min(time.Second<<min(tries, 9), 5*time.Minute)
}

// Run submits due jobs until ctx ends. An attempt in flight when ctx ends is
// abandoned; its job stays queued and is resubmitted, with the same key, at
// the next start of this replica, or by another once its claim runs out.
func (s *Submitter) Run(ctx context.Context) error {
	if err := s.store.ReleaseSubmissions(ctx); err != nil {
		s.log.Error("submit: unable to release the submissions claimed before a restart", "error", err)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.relay.Queued():
		case <-timer.C:
		}
		if !s.registered {
			if err := EnsureWebhook(ctx, s.store, s.client, s.WebhookURL); err != nil {
				s.log.Error("submit: unable to register the webhook endpoint; will retry", "url", s.WebhookURL, "error", err)
				timer.Reset(5 * time.Second)
				continue
			}
			s.registered = true
		}
		s.sweep(ctx)
		timer.Reset(s.untilNext(ctx))
	}
}

// untilNext is how long to sleep before the next due job, at most 30 s.
func (s *Submitter) untilNext(ctx context.Context) time.Duration {
	next, err := s.store.NextSubmitAt(ctx)
	if err != nil || next.IsZero() {
		return 30 * time.Second
	}
	return min(max(next.Sub(s.store.Now()), 0), 30*time.Second)
}

func (s *Submitter) sweep(ctx context.Context) {
	for ctx.Err() == nil {
		// The batch is submitted one job after another, so each job's
		// lease covers the attempts before its own too, and a minute more.
		ahead := time.Minute
		jobs, err := s.store.ClaimDueSubmissions(ctx, claimBatch, func(j job.Job) time.Duration {
			ahead += attemptTimeout(j)
			return ahead
		})
		if err != nil {
			s.log.Error("submit: unable to list due jobs", "error", err)
			return
		}
		if len(jobs) == 0 {
			return
		}
		for _, j := range jobs {
			if !s.registered {
				return
			}
			s.submit(ctx, j)
		}
	}
}

func (s *Submitter) submit(ctx context.Context, j job.Job) {
	f, err := os.Open(j.AudioPath)
	if err != nil {
		s.fail(ctx, j, job.FailureNoFile)
		return
	}
	defer f.Close()
	actx, cancel := context.WithTimeout(ctx, attemptTimeout(j))
	defer cancel()
	t, err := s.client.CreateTranscription(actx, deepscript.CreateRequest{
		File: f, Filename: j.Filename, WebhookURL: s.WebhookURL, Metadata: j.SubmitKey(), IdempotencyKey: j.SubmitKey(),
	})
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		s.handleError(ctx, j, err)
		return
	}
	s.metrics.Submits.WithLabelValues("ok").Inc()
	if err := s.relay.Submitted(ctx, j.ID, *t); err != nil && ctx.Err() == nil {
		s.log.Error("submit: unable to record submission", "job_id", j.ID, "upstream_id", t.ID, "error", err)
	}
}

// attemptTimeout bounds one submit attempt: generous for large uploads
// over slow links, but never unbounded.
func attemptTimeout(j job.Job) time.Duration {
	return 2*time.Minute + time.Duration(j.SizeBytes/(1<<20))*time.Second
}

func (s *Submitter) handleError(ctx context.Context, j job.Job, err error) {
	var apiErr *deepscript.APIError
	if errors.As(err, &apiErr) && !apiErr.Temporary() && apiErr.StatusCode != 401 && apiErr.StatusCode != 422 {
		s.metrics.Submits.WithLabelValues("rejected").Inc()
		s.log.Warn("submit: upstream refused job", "job_id", j.ID, "error", err)
		s.fail(ctx, j, refusal(apiErr))
		return
	}
	if apiErr != nil && apiErr.StatusCode == 422 {
		s.registered = false // the upstream lost our endpoint: register again
	}
	// Temporary: network errors, timeouts, 408/429/5xx, and our own
	// configuration problems (401 bad key, 422 endpoint not registered),
	// which an operator can fix without the user uploading again.
	wait := s.Backoff(j.SubmitTries)
	if apiErr != nil && apiErr.RetryAfter > wait {
		wait = apiErr.RetryAfter
	}
	s.metrics.Submits.WithLabelValues("retry").Inc()
	s.log.Warn("submit: attempt failed; will retry", "job_id", j.ID, "tries", j.SubmitTries+1, "retry_in", wait, "error", err)
	if err := s.relay.Postpone(ctx, j.ID, s.store.Now().Add(wait)); err != nil {
		s.log.Error("submit: unable to reschedule", "job_id", j.ID, "error", err)
	}
}

func (s *Submitter) fail(ctx context.Context, j job.Job, message string) {
	if err := s.relay.Refused(ctx, j.ID, message); err != nil {
		s.log.Error("submit: unable to mark job failed", "job_id", j.ID, "error", err)
	}
}

// refusal words an upstream's permanent refusal for the job's owner.
func refusal(e *deepscript.APIError) string {
	switch e.StatusCode {
	case 402:
		return "The transcription service's balance is used up, so this file was not transcribed. Try again once the balance is topped up."
	case 413:
		return "The file is larger than the transcription service accepts."
	case 415:
		return "The transcription service could not read this file as audio."
	}
	return (&deepscript.ErrorBody{Code: e.Code, Message: e.Message}).FailureMessage()
}
