// Package job holds scribe's vocabulary: a transcription job, its status,
// its transcript, how news of it arrives, and the forward-only rule that
// decides whether that news changes anything. It imports nothing of ours;
// the upstream's wire types are translated to these at the edges.
package job

import (
	"cmp"
	"fmt"
	"strings"
	"time"
)

// Status is a job's lifecycle state. It only moves forward:
// queued → processing → completed | failed.
type Status string

// The job states, in the order they may be reached.
const (
	StatusQueued     Status = "queued"
	StatusProcessing Status = "processing"
	StatusCompleted  Status = "completed"
	StatusFailed     Status = "failed"
)

// Rank orders states so news never moves a job backwards; an unknown status
// ranks below queued.
func (s Status) Rank() int {
	switch s {
	case StatusQueued:
		return 1
	case StatusProcessing:
		return 2
	case StatusCompleted, StatusFailed:
		return 3
	}
	return 0
}

// Final reports whether no further change can follow.
func (s Status) Final() bool { return s == StatusCompleted || s == StatusFailed }

// Valid reports whether s is one of the four states.
func (s Status) Valid() bool { return s.Rank() > 0 }

// Via is the channel through which news of a job arrived.
type Via string

// The channels. A job's CompletedVia is the one that first brought its
// final state.
const (
	ViaWebhook Via = "webhook"
	ViaSSE     Via = "sse"
	ViaPoll    Via = "poll"
	// ViaSubmit is the upstream's answer to the submission itself, which
	// may already be final when a create was replayed.
	ViaSubmit Via = "submit"
)

// Job is one uploaded file and what is known of its transcription.
type Job struct {
	ID           string
	UserID       int64
	Filename     string // the name the file was uploaded with
	Name         string // the name its owner gives it; the filename until renamed
	Tags         []string
	AudioPath    string
	SizeBytes    int64
	Duration     float64
	Attempt      int    // bumped by a user's retry; part of the submit key
	UpstreamID   string // empty until the upstream accepted the job
	SubmitTries  int
	NextSubmitAt time.Time
	SubmittedAt  time.Time
	Status       Status
	Progress     float64 // 0 to 1
	Error        string  // a failed job's message for its owner
	CompletedVia Via
	UpstreamDone time.Time // when the upstream says it finished
	FinishedAt   time.Time // when we recorded the final state
	Polls        int
	Seq          int64 // change sequence number: browser streams resume from it
	RevisionID   int64 // the current revision of its transcript; 0 until completed
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// SubmitKey is the Idempotency-Key (echoed back as metadata) of the job's
// current attempt.
func (j Job) SubmitKey() string {
	if j.Attempt == 0 {
		return j.ID
	}
	return fmt.Sprintf("%s-retry%d", j.ID, j.Attempt)
}

// IDFromSubmitKey is the job id inside a SubmitKey.
func IDFromSubmitKey(key string) string {
	id, _, _ := strings.Cut(key, "-retry")
	return id
}

// Result is a finished transcript.
type Result struct {
	Text     string    `json:"text"`
	Language string    `json:"language"`
	Duration float64   `json:"duration"`
	Segments []Segment `json:"segments"`
}

// Segment is a stretch of speech; segments are in time order and do not
// overlap. Speaker labels who speaks, when the upstream tells speakers apart.
type Segment struct {
	Start   float64 `json:"start"`
	End     float64 `json:"end"`
	Text    string  `json:"text"`
	Speaker string  `json:"speaker,omitempty"`
	Words   []Word  `json:"words"`
}

// Word is one recognised word with its timing in seconds.
type Word struct {
	Word       string  `json:"word"`
	Start      float64 `json:"start"`
	End        float64 `json:"end"`
	Confidence float64 `json:"confidence"`
}

// Update is what one channel learnt about an upstream job.
type Update struct {
	UpstreamID string
	Status     Status
	Progress   float64
	Error      string  // when failed
	Result     *Result // required when completed
	Via        Via
	UpstreamAt time.Time // when the upstream says the change happened
	// WebhookID, when set, is recorded in the same transaction as the
	// change, so a redelivered webhook is a no-op even when two copies race.
	WebhookID string
}

// DefaultFailure is a failed job's message when the upstream gave none.
const DefaultFailure = "Transcription failed."

// Advance returns j moved forward by u, and false when u brings nothing
// new. Status never moves backwards, progress never decreases, and a final
// state is never replaced: late, stale and repeated news is ignored.
func Advance(j Job, u Update) (Job, bool) {
	if j.Status.Final() || u.Status.Rank() < j.Status.Rank() || !u.Status.Valid() {
		return j, false
	}
	next := j
	next.Status = u.Status
	next.Progress = max(j.Progress, min(u.Progress, 1))
	switch u.Status {
	case StatusCompleted:
		next.Progress = 1
	case StatusFailed:
		// A failure always says so: some channels carry no error object,
		// and the job's message must not then be empty.
		next.Error = cmp.Or(u.Error, DefaultFailure)
	}
	if u.Status.Final() {
		next.CompletedVia = u.Via
		next.UpstreamDone = u.UpstreamAt
	}
	return next, next.Status != j.Status || next.Progress != j.Progress
}

// Failure messages a job's owner may read.
const (
	FailureUnreadable = "The file could not be read as audio."
	FailureTooLarge   = "The file is larger than the transcription service accepts."
	FailureBalance    = "The transcription service's balance is used up; try again once it is topped up."
	FailureGone       = "The transcription service no longer has this job; please upload the file again."
	FailureNoFile     = "The uploaded file is no longer on the server; please upload it again."
)
