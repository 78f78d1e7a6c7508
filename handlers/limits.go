package handlers

import (
	"context"
	"fmt"
	"time"

	"scribe/job"
	"scribe/store"
)

// Limits bound what one user may ask of the server; zero means no limit.
type Limits struct {
	FilesPerUpload int     // files in one upload request
	StreamsPerUser int     // event streams open at once
	QueuedPerUser  int     // jobs queued or processing at once
	MaxFileSeconds float64 // audio length of one file
	DailySeconds   float64 // audio uploaded per rolling 24 hours
}

// quota is one upload request's view of its user's limits: what was in
// use when it began, plus what it has added since.
type quota struct {
	limits Limits
	usage  store.Usage
	files  int
}

func (h *Handler) quotaFor(ctx context.Context, u store.User) (*quota, error) {
	usage, err := h.Store.Usage(ctx, u.ID, h.Store.Now().Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	return &quota{limits: h.cfg.Limits, usage: usage}, nil
}

// nextFile is checked before a file is read: it may be refused at once.
func (q *quota) nextFile() error {
	l := q.limits
	if l.FilesPerUpload > 0 && q.files >= l.FilesPerUpload {
		return job.Errorf(job.CodeTooManyRequests, fmt.Sprintf("Upload at most %d files at once; the rest were not taken.", l.FilesPerUpload))
	}
	if l.QueuedPerUser > 0 && q.usage.Unfinished >= l.QueuedPerUser {
		return job.Errorf(job.CodeTooManyRequests, fmt.Sprintf(
			"You have %d files waiting to be transcribed, the most this server takes at once. Upload more when some have finished.", q.usage.Unfinished))
	}
	return nil
}

// take admits a read file of seconds of audio, or says which limit it is over.
func (q *quota) take(name string, seconds float64) error {
	l := q.limits
	if l.MaxFileSeconds > 0 && seconds > l.MaxFileSeconds {
		return job.Errorf(job.CodeInvalid, fmt.Sprintf("%s is %s long; this server takes files of up to %s.",
			name, hours(seconds), hours(l.MaxFileSeconds)))
	}
	if l.DailySeconds > 0 && q.usage.RecentSeconds+seconds > l.DailySeconds {
		return job.Errorf(job.CodeTooManyRequests, fmt.Sprintf(
			"%s would take you past the %s of audio a day this server transcribes for each person (%s in the last 24 hours). Try again later.",
			name, hours(l.DailySeconds), hours(q.usage.RecentSeconds)))
	}
	q.files++
	q.usage.Unfinished++
	q.usage.RecentSeconds += seconds
	return nil
}

// hours writes a length of audio for people: "1 h 30 min", "45 min", "20 s".
func hours(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second)).Round(time.Second)
	switch {
	case d >= time.Hour:
		if m := int(d.Minutes()) % 60; m > 0 {
			return fmt.Sprintf("%d h %d min", int(d.Hours()), m)
		}
		return fmt.Sprintf("%d h", int(d.Hours()))
	case d >= time.Minute:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%d s", int(d.Seconds()))
}
