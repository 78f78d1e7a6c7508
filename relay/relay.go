// Package relay is the one writer of job state. Every change to a job —
// an upload, a retry, a delete, an edit or restore of its transcript, the
// upstream's answer to a submission, and news from a webhook, the
// upstream's event stream or a backstop poll — goes through it: it applies the change in one store transaction (news
// under the forward-only rule, concurrent news group-committed in one
// transaction), and only after the commit publishes it to the owner's
// browser streams. It also follows the upstream event streams of active
// jobs, a bounded number at once, jobs a browser is watching first
// (watch.go). Replicas sharing a PostgreSQL database learn each other's
// changes, and share out the upstream streams, through it (replicas.go).
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"scribe/deepscript"
	"scribe/job"
	"scribe/metrics"
	"scribe/store"
)

// ErrIgnored reports a webhook event scribe does not act on; it is
// acknowledged so the upstream does not retry it.
var ErrIgnored = errors.New("relay: event ignored")

// Relay changes jobs and fans the changes out. Create it with New, set
// its exported fields, and start it with Run.
type Relay struct {
	store   *store.Store
	client  *deepscript.Client
	log     *slog.Logger
	metrics *metrics.Metrics
	hub     *hub
	queued  chan struct{}
	// committer applies news in group commits and publishes it.
	committer *committer

	// MaxStreams caps the upstream event streams followed at once; 0
	// means no cap. Jobs beyond it learn their end from webhooks and the
	// backstop.
	MaxStreams int
	// ResultGrace is how long a completion seen on a stream waits for the
	// webhook that carries the result before fetching it.
	ResultGrace time.Duration

	demand chan struct{} // wakes the stream scheduler
	mu     sync.Mutex
	wanted map[string]*watcher  // active jobs to follow, by upstream id
	queue  map[int64][]*watcher // those waiting for a stream, by owner
	open   int                  // streams followed now
	wg     sync.WaitGroup
}

// DefaultMaxStreams is MaxStreams as New sets it.
const DefaultMaxStreams = 200

// New returns a Relay; nothing runs until Run.
func New(s *store.Store, c *deepscript.Client, m *metrics.Metrics, log *slog.Logger) *Relay {
	r := &Relay{store: s, client: c, metrics: m, log: log,
		hub:        newHub(m),
		queued:     make(chan struct{}, 1),
		MaxStreams: DefaultMaxStreams, ResultGrace: 2 * time.Second,
		demand: make(chan struct{}, 1), wanted: map[string]*watcher{}, queue: map[int64][]*watcher{}}
	r.committer = newCommitter(s, r.publish)
	return r
}

// Queued receives a signal whenever a job starts waiting to be submitted
// (an upload or a retry); the submitter selects on it.
func (r *Relay) Queued() <-chan struct{} { return r.queued }

// Run follows active jobs' upstream streams until ctx ends, then stops
// them all and ends all browser subscriptions.
func (r *Relay) Run(ctx context.Context) error {
	jobs, err := r.store.ActiveJobs(ctx)
	if err != nil {
		r.log.Error("relay: unable to list active jobs", "error", err)
	}
	for _, j := range jobs {
		r.watch(j)
	}
	if r.store.Notifies() {
		r.wg.Go(func() { r.followChanges(ctx) })
	}
	r.schedule(ctx) // every stream's context ends with ctx
	r.wg.Wait()
	r.hub.closeAll()
	return nil
}

// Create records a new upload, queued for submission now.
func (r *Relay) Create(ctx context.Context, j job.Job) (job.Job, error) {
	j, err := r.store.CreateJob(ctx, j)
	if err != nil {
		return job.Job{}, err
	}
	r.publish(j)
	r.signalQueued()
	return j, nil
}

// Retry sends a user's failed job back to the submission queue as a new
// attempt; job.ErrConflict when the job has not failed.
func (r *Relay) Retry(ctx context.Context, userID int64, id string) (job.Job, error) {
	j, err := r.store.RetryJob(ctx, userID, id)
	if err != nil {
		return job.Job{}, err
	}
	r.publish(j)
	r.signalQueued()
	return j, nil
}

// Delete removes a user's job, its audio, and its upstream copy. The audio
// goes first: on a full disk that frees the room the database needs to
// record the deletion, so deleting is how a user frees space.
func (r *Relay) Delete(ctx context.Context, userID int64, id string) (job.Job, error) {
	j, err := r.store.Job(ctx, userID, id)
	if err != nil {
		return job.Job{}, err
	}
	if err := os.Remove(j.AudioPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.log.Warn("relay: unable to remove audio", "job_id", j.ID, "error", err)
	}
	if j, err = r.store.DeleteJob(ctx, userID, id); err != nil {
		return job.Job{}, err
	}
	r.publishChange(&Change{Job: j, Deleted: true})
	if j.UpstreamID != "" {
		r.unwatch(j.UpstreamID)
		r.deleteUpstream(ctx, j.ID, j.UpstreamID)
	}
	return j, nil
}

// Organise renames and retags a user's job as o says and publishes the
// change; o's names and tags are checked first (job.CodeInvalid).
func (r *Relay) Organise(ctx context.Context, userID int64, id string, o job.Organise) (job.Job, error) {
	o, err := o.Clean()
	if err != nil {
		return job.Job{}, err
	}
	j, err := r.store.OrganiseJob(ctx, userID, id, o)
	if err != nil {
		return job.Job{}, err
	}
	r.publish(j)
	return j, nil
}

// Edit saves an owner's edit of a job's transcript as its new current
// revision, provided base is still the current one (job.ErrStale
// otherwise, and nothing changes), and publishes the change.
func (r *Relay) Edit(ctx context.Context, userID int64, jobID string, base int64, res *job.Result) (job.Revision, error) {
	j, rev, err := r.store.SaveRevision(ctx, userID, jobID, base, res)
	if err != nil {
		return job.Revision{}, err
	}
	r.publish(j)
	return rev, nil
}

// Restore makes a copy of one of a job's revisions its new current
// revision and publishes the change.
func (r *Relay) Restore(ctx context.Context, userID int64, jobID string, revID int64) (job.Revision, error) {
	j, rev, err := r.store.RestoreRevision(ctx, userID, jobID, revID)
	if err != nil {
		return job.Revision{}, err
	}
	r.publish(j)
	return rev, nil
}

// Submitted records the upstream's answer to a job's submission: its id,
// and its state when a replayed create found the job already under way.
// A job deleted while its upload was in flight is deleted upstream too.
func (r *Relay) Submitted(ctx context.Context, jobID string, t deepscript.Transcription) error {
	j, err := r.store.MarkSubmitted(ctx, jobID, t.ID)
	if errors.Is(err, job.ErrNotFound) {
		r.log.Info("relay: job deleted during its upload; deleting it upstream", "job_id", jobID, "upstream_id", t.ID)
		r.deleteUpstream(ctx, jobID, t.ID)
		return nil
	}
	if err != nil {
		return err
	}
	r.log.Info("relay: job accepted upstream", "job_id", j.ID, "upstream_id", t.ID)
	r.publish(j)
	if t.Status != job.StatusQueued {
		if _, err := r.Apply(ctx, t.Update(job.ViaSubmit)); err != nil {
			return fmt.Errorf("relay: unable to apply the state the upstream answered with: %w", err)
		}
	}
	r.watch(j)
	return nil
}

// Refused marks a job the upstream will not take as failed, with a message
// for its owner.
func (r *Relay) Refused(ctx context.Context, jobID, message string) error {
	j, err := r.store.FailUnsubmitted(ctx, jobID, message)
	if err != nil {
		return err
	}
	r.publish(j)
	return nil
}

// Postpone records a failed submit attempt and when to try again. Nothing
// a browser shows changes, so nothing is published.
func (r *Relay) Postpone(ctx context.Context, jobID string, at time.Time) error {
	return r.store.ScheduleSubmit(ctx, jobID, at)
}

// ApplyWebhook applies a verified webhook delivery. A transcription we
// have not recorded may be ours, arriving before the submit's answer: it
// is adopted by the submit key the upstream echoes as metadata. It returns
// store.ErrDuplicate for a webhook-id already handled, job.ErrNotFound for
// a transcription that is not ours, and ErrIgnored for other events.
func (r *Relay) ApplyWebhook(ctx context.Context, webhookID string, ev deepscript.WebhookEvent) error {
	switch ev.Event {
	case deepscript.EventBalanceLow:
		return r.store.RecordBalanceLow(ctx, webhookID)
	case deepscript.EventCompleted, deepscript.EventFailed:
	default:
		return ErrIgnored
	}
	if ev.ID == "" {
		return job.ErrNotFound
	}
	u := ev.Update(webhookID)
	_, err := r.Apply(ctx, u)
	if errors.Is(err, job.ErrNotFound) {
		// Not found also when the answer got recorded meanwhile: apply again.
		if err = r.adopt(ctx, ev.ID); err == nil || errors.Is(err, job.ErrNotFound) {
			_, err = r.Apply(ctx, u)
		}
	}
	return err
}

// Apply records news of an upstream job under the forward-only rule and
// publishes the change. A completed update without its transcript fetches
// it first. It returns whether the job changed; job.ErrNotFound when no
// job has that upstream id.
func (r *Relay) Apply(ctx context.Context, u job.Update) (bool, error) {
	if u.Status == job.StatusCompleted && u.Result == nil {
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
		u.Result = t.Result.Domain()
	}
	a := r.committer.apply(ctx, u)
	if a.Err != nil || !a.Changed {
		return false, a.Err
	}
	if j := a.Job; j.Status.Final() {
		r.metrics.JobsFinished.WithLabelValues(string(j.CompletedVia), string(j.Status)).Inc()
		r.unwatch(j.UpstreamID)
	}
	return true, nil
}

// ErrTooManyStreams refuses a subscription over the user's limit.
var ErrTooManyStreams = job.Errorf(job.CodeTooManyRequests,
	"This account has too many pages open with live updates. Close some tabs and reload.")

// Subscribe starts a browser subscription to one user's job changes,
// unless the user already has max of them open (0: no limit).
func (r *Relay) Subscribe(userID int64, max int) (*Subscription, error) {
	s, err := r.hub.subscribe(userID, max)
	if err == nil {
		r.signalDemand() // the user's jobs now go first for upstream streams
	}
	return s, err
}

func (r *Relay) publish(j job.Job) { r.publishChange(&Change{Job: j}) }

// publishChange gives a committed change to this replica's browser
// streams; when the store notifies every replica of every change, the
// streams learn it from there instead (replicas.go), own changes too, so
// they see one order: the commits'.
func (r *Relay) publishChange(c *Change) {
	if !r.store.Notifies() {
		r.hub.publish(c)
	}
}

func (r *Relay) signalQueued() {
	select {
	case r.queued <- struct{}{}:
	default:
	}
}

// adopt gives an upstream job we have not recorded to the job of ours
// whose submit key it echoes, if that job still waits for its create
// answer. job.ErrNotFound when it is not ours.
func (r *Relay) adopt(ctx context.Context, upstreamID string) error {
	t, err := r.fetch(ctx, upstreamID)
	if deepscript.IsNotFound(err) {
		return job.ErrNotFound
	}
	if err != nil {
		return err
	}
	j, err := r.store.JobAwaitingUpstreamID(ctx, t.Metadata)
	if err != nil {
		return err
	}
	if j, err = r.store.MarkSubmitted(ctx, j.ID, t.ID); err != nil {
		return err
	}
	r.log.Info("relay: adopted an upstream job before its create answer", "job_id", j.ID, "upstream_id", upstreamID)
	r.publish(j)
	r.watch(j)
	return nil
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

// deleteUpstream deletes a job's upstream copy; failures are only logged,
// as the job is already gone here.
func (r *Relay) deleteUpstream(ctx context.Context, jobID, upstreamID string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.client.DeleteTranscription(ctx, upstreamID); err != nil && !deepscript.IsNotFound(err) {
		r.log.Warn("relay: unable to delete upstream transcription", "job_id", jobID, "upstream_id", upstreamID, "error", err)
	}
}
