package views

import "time"

// Layout is what every page's frame needs.
type Layout struct {
	Title      string
	Search     string // the search the header's box shows
	UserEmail  string // empty when signed out
	Admin      bool   // the signed-in user is the admin
	Flash      string // one-shot message from the previous request
	BalanceLow bool   // the upstream reported a low balance
	// UpstreamDownSince is when the transcription service became
	// unreachable; zero while it answers.
	UpstreamDownSince time.Time
}

// AuthModel is the sign-up or log-in form.
type AuthModel struct {
	Layout
	Email  string // echoed back after a failed attempt
	Error  string // a message a person understands, or empty
	Invite string // the invitation a sign-up carries, if any
}

// Job is one transcription job as pages show it.
type Job struct {
	ID           string
	Filename     string // as uploaded
	Name         string // as its owner calls it; the filename until renamed
	Tags         []string
	SizeBytes    int64
	Status       string // queued | processing | completed | failed
	Progress     float64
	Duration     float64 // seconds of audio; 0 while unknown
	CreatedAt    time.Time
	UpdatedAt    time.Time
	CompletedVia string // webhook | sse | poll, once final
	Error        string // why it failed, in words a person understands
	// Downloads are the transcript's formats once completed; the handlers
	// list them, so no page or script keeps its own list of formats.
	Downloads []Download
}

// Download is one format a finished transcript can be saved in.
type Download struct {
	Label string // what the link says ("SRT")
	URL   string
	Ext   string // the file extension without the dot; also names the link's data-testid
}

// Final reports whether the job can no longer change.
func (j Job) Final() bool { return j.Status == "completed" || j.Status == "failed" }

// HomeModel is the upload form and a page of the user's job list.
type HomeModel struct {
	Layout
	Jobs           []Job
	MaxUploadBytes int64
	UploadErrors   []string // per-file errors from a form post without JavaScript
	List           ListControls
}

// ListControls are the job list's filters, sort and page links.
type ListControls struct {
	Status string   // shown state, or empty for all
	Tag    string   // shown tag, or empty for all
	Sort   string   // date | name
	Tags   []string // the user's tags, offered in the tag filter
	Next   string   // the next page's URL; empty on the last page
	First  string   // the first page's URL; empty on the first page
	Back   string   // this page's URL, where a bulk delete returns
	// NewSince is the page's time in Unix milliseconds when it is the
	// first page of the unfiltered, newest-first list: jobs created after
	// it are added live at the top. Zero on any other page.
	NewSince int64
}

// Filtered reports whether the list shows only some of the jobs.
func (c ListControls) Filtered() bool { return c.Status != "" || c.Tag != "" }

// Segment is one timed line of a transcript.
type Segment struct {
	Start, End float64
	Text       string
	Speaker    string // empty when the upstream does not tell speakers apart
	// Words are the segment's text word by word with their timings, for the
	// player to follow; empty when the timings do not match the text.
	Words []Word
}

// Word is one word of a segment's text and when it is spoken.
type Word struct {
	Text       string
	Start, End float64
}

// JobModel is one job: live status while running, transcript when done.
type JobModel struct {
	Layout
	Job        Job
	Transcript Transcript // empty until the job completed
	Share      Share      // its read-only link, once completed
}

// Transcript is a completed job's text: timed segments, and the whole text.
type Transcript struct {
	Segments []Segment
	Text     string
	ETag     string // the revision shown, which the in-page editor saves over
}

// Speakers are the distinct speakers of the transcript, in order of first
// appearance; the editor renames each once for all its segments.
func (t Transcript) Speakers() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range t.Segments {
		if s.Speaker != "" && !seen[s.Speaker] {
			seen[s.Speaker] = true
			out = append(out, s.Speaker)
		}
	}
	return out
}

// DeliveryHealthModel summarises how the user's latest finished jobs
// learnt their final state.
type DeliveryHealthModel struct {
	Layout
	Window                                 int // how many of the latest finished jobs the figures cover
	ViaWebhook, ViaSSE, ViaPoll, ViaSubmit int
	PollsMade                              int
	PollsAt3s                              int     // what polling every 3 s would have cost
	MedianLatency                          float64 // seconds from upstream completion to the page
	LastWebhookAt                          time.Time
	WebhooksStale                          bool // jobs finished by other channels while webhooks stayed silent
}

// ErrorModel is shown for 404s and other failures a person may hit.
type ErrorModel struct {
	Layout
	Status  int
	Message string
}
