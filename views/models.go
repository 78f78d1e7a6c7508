package views

import "time"

// Layout is what every page's frame needs.
type Layout struct {
	Title      string
	UserEmail  string // empty when signed out
	Admin      bool   // the signed-in user is the admin
	Flash      string // one-shot message from the previous request
	BalanceLow bool   // the upstream reported a low balance
}

// AuthPage is the sign-up or log-in form.
type AuthPage struct {
	Layout
	Email  string // echoed back after a failed attempt
	Error  string // a message a person understands, or empty
	Invite string // the invitation a sign-up carries, if any
}

// Job is one transcription job as pages show it.
type Job struct {
	ID           string
	Filename     string
	Status       string // queued | processing | completed | failed
	Progress     float64
	Duration     float64 // seconds of audio; 0 while unknown
	CreatedAt    time.Time
	UpdatedAt    time.Time
	CompletedVia string // webhook | sse | poll, once final
	Error        string // why it failed, in words a person understands
}

// Final reports whether the job can no longer change.
func (j Job) Final() bool { return j.Status == "completed" || j.Status == "failed" }

// HomePage is the upload form and the user's job list.
type HomePage struct {
	Layout
	Jobs           []Job
	MaxUploadBytes int64
	UploadErrors   []string // per-file errors from a form post without JavaScript
}

// Segment is one timed line of a transcript.
type Segment struct {
	Start, End float64
	Text       string
}

// JobPage is one job: live status while running, transcript when done.
type JobPage struct {
	Layout
	Job      Job
	Segments []Segment
	Text     string
}

// DeliveryHealth summarises how the user's jobs learnt their final state.
type DeliveryHealth struct {
	Layout
	ViaWebhook, ViaSSE, ViaPoll, ViaSubmit int
	PollsMade                              int
	PollsAt3s                              int     // what polling every 3 s would have cost
	MedianLatency                          float64 // seconds from upstream completion to the page
	LastWebhookAt                          time.Time
	WebhooksStale                          bool // jobs finished by other channels while webhooks stayed silent
}

// ErrorPage is shown for 404s and other failures a person may hit.
type ErrorPage struct {
	Layout
	Status  int
	Message string
}
