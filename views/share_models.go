package views

import (
	"strconv"
	"time"
)

// Share is a job's read-only link as its owner's page shows it.
type Share struct {
	Active    bool      // a link works
	ExpiresAt time.Time // until when
	// URL is the link, only on the page right after it was made: only a
	// hash of its token is kept.
	URL string
}

// ShareChoices are the lifetimes a link can be given, in days; the first
// is the default.
var ShareChoices = []int{30, 1, 7, 90, 365}

// SharedModel is the page a share link opens: the transcript, player and
// downloads, and nothing of its owner's besides.
type SharedModel struct {
	Layout
	Filename   string
	Duration   float64
	Audio      string // the shared audio's URL
	Downloads  []Download
	Transcript Transcript
}

// transcriptFrame is what surrounds a transcript: where its audio and
// downloads are, and whether its owner's tools show.
type transcriptFrame struct {
	JobID     string
	Audio     string
	Downloads []Download
	Owner     bool
}

// dayCount is "1 day" or "n days".
func dayCount(n int) string {
	if n == 1 {
		return "1 day"
	}
	return strconv.Itoa(n) + " days"
}
