package views

import (
	"net/url"
	"strconv"
)

// SearchModel is the search page: the query, one page of results, and the
// next page's address when there is one.
type SearchModel struct {
	Layout
	Query   string
	Error   string // why the query was refused, or empty
	Results []SearchResult
	Next    string
	Page    int // from 1
}

// SearchResult is one job that matches, with the segment that matches best.
type SearchResult struct {
	JobID    string
	Filename Highlighted
	Snippet  Highlighted
	Start    float64 // seconds into the recording of the segment
}

// URL opens the job at the matching segment (app.js reads #t=).
func (r SearchResult) URL() string {
	u := jobURL(r.JobID, "")
	if r.Start > 0 {
		u += "#t=" + strconv.FormatFloat(r.Start, 'f', -1, 64)
	}
	return u
}

// Highlighted is text cut into runs, the runs that match a search marked.
// Pages escape every run and wrap the marked ones in <mark>, so no text
// can add markup.
type Highlighted []HighlightRun

// HighlightRun is one run of a Highlighted text.
type HighlightRun struct {
	Text  string
	Match bool
}

// searchURL is the address of a search's page.
func searchURL(q string, page int) string {
	v := url.Values{"q": {q}}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return "/search?" + v.Encode()
}
