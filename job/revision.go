package job

import "time"

// Source is where a revision of a transcript came from.
type Source string

// The sources of revisions.
const (
	SourceUpstream Source = "upstream" // the transcription service's result
	SourceEdit     Source = "edit"     // the owner saved changes
	SourceRestore  Source = "restore"  // the owner made an earlier revision current again
)

// Revision is one saved version of a job's transcript. Revisions are never
// changed or removed (until their job is); the job names the current one,
// which its page and downloads show.
type Revision struct {
	ID           int64
	JobID        string
	Source       Source
	AuthorID     int64 // who saved it; 0 for the upstream's
	RestoredFrom int64 // for a restore, the revision it copies
	CreatedAt    time.Time
	Result       *Result // nil in listings
}
