package relay

import (
	"context"
	"errors"
	"time"

	"scribe/job"
	"scribe/store"
)

// Replicas sharing one PostgreSQL database form one installation: every
// replica's browser streams see every replica's changes, and each active
// job's upstream stream is followed by one replica at a time.

// rescanEvery is how often, with replicas, each one looks for active jobs
// nobody follows: submitted by another replica, or followed by one that
// died.
const rescanEvery = 10 * time.Second

// followChanges feeds the hub with the job changes of every replica,
// this one's included, as the store notifies them, until ctx ends. Each
// change is read again from the store, and only for users with a stream
// open here. When changes may have been missed (the feed reconnected, a
// read failed), every stream is ended and resumes from the store.
func (r *Relay) followChanges(ctx context.Context) {
	err := r.store.FollowJobChanges(ctx, store.ChangeFeed{
		Connected: r.hub.dropAll,
		Changed:   func(c store.JobChange) { r.fanOut(ctx, c) },
		Failed: func(err error) {
			if ctx.Err() == nil {
				r.log.Warn("relay: following other replicas' changes", "error", err)
			}
		},
	})
	if err != nil {
		r.log.Error("relay: stopped following other replicas' changes", "error", err)
	}
}

// fanOut publishes one notified change to this replica's streams.
func (r *Relay) fanOut(ctx context.Context, c store.JobChange) {
	if !r.hub.watched(c.UserID) {
		return
	}
	if c.Deleted {
		r.hub.publish(&Change{Job: job.Job{ID: c.JobID, UserID: c.UserID, Seq: c.Seq}, Deleted: true})
		return
	}
	j, err := r.store.Job(ctx, c.UserID, c.JobID)
	switch {
	case errors.Is(err, job.ErrNotFound):
		return // deleted since; its deletion is notified next
	case err != nil:
		if ctx.Err() == nil {
			r.log.Warn("relay: unable to read a changed job; streams resume from the store", "job_id", c.JobID, "error", err)
			r.hub.dropAll()
		}
		return
	}
	r.hub.publish(&Change{Job: j})
}

// watchActive asks for every active job to be followed; those another
// replica follows are let go when their lock is refused.
func (r *Relay) watchActive(ctx context.Context) {
	jobs, err := r.store.ActiveJobs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("relay: unable to list active jobs", "error", err)
		}
		return
	}
	for _, j := range jobs {
		r.watch(j)
	}
}

// lockFollow takes the lock on following a job's upstream stream; false
// when another replica follows it, or the lock cannot be had (webhooks
// and the backstop still end the job).
func (r *Relay) lockFollow(ctx context.Context, upstreamID string) bool {
	ok, err := r.store.TryLock(ctx, "follow:"+upstreamID)
	if err != nil && ctx.Err() == nil {
		r.log.Warn("relay: unable to lock an upstream stream", "upstream_id", upstreamID, "error", err)
	}
	return ok && err == nil
}

// unlockFollow lets another replica follow the job.
func (r *Relay) unlockFollow(upstreamID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.store.Unlock(ctx, "follow:"+upstreamID); err != nil {
		r.log.Warn("relay: unable to unlock an upstream stream", "upstream_id", upstreamID, "error", err)
	}
}
