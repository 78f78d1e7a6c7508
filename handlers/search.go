package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"scribe/job"
	"scribe/store"
	"scribe/views"
)

// Search pages: searchPageSize results each, at most maxSearchPage pages
// deep (past it, a person refines the words instead).
const (
	searchPageSize = 20
	maxSearchPage  = 50
)

var errSearchPage = job.Errorf(job.CodeInvalid, "The page must be a number from 1 to 50.")

// searchResultJSON is one result of GET /search as JSON: the job, its
// filename, the best segment's text (plain, without marks) and its start.
type searchResultJSON struct {
	JobID    string  `json:"job_id"`
	Filename string  `json:"filename"`
	Snippet  string  `json:"snippet"`
	Start    float64 `json:"start"`
}

// search answers GET /search?q=…&page=…: the user's jobs whose filename or
// current transcript matches, best first, as a page or as JSON.
func (h *Handler) search(w http.ResponseWriter, r *http.Request, u store.User) {
	raw := r.URL.Query().Get("q")
	page := 1
	if p := r.URL.Query().Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > maxSearchPage {
			h.searchFailed(w, r, raw, errSearchPage)
			return
		}
		page = n
	}
	if !wantsJSON(r) && strings.TrimSpace(raw) == "" {
		h.render(w, r, http.StatusOK, views.SearchPage(views.SearchModel{Layout: h.layout(w, r, "Search"), Page: page}))
		return
	}
	q, err := store.ParseQuery(raw)
	if err != nil {
		h.searchFailed(w, r, raw, err)
		return
	}
	res, err := h.Store.Search(r.Context(), u.ID, q, page-1, searchPageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var next string
	if res.More && page < maxSearchPage {
		next = "/search?" + url.Values{"q": {raw}, "page": {strconv.Itoa(page + 1)}}.Encode()
	}
	if wantsJSON(r) {
		out := struct {
			Results []searchResultJSON `json:"results"`
			Next    *string            `json:"next"`
		}{Results: make([]searchResultJSON, 0, len(res.Hits))}
		for _, hit := range res.Hits {
			out.Results = append(out.Results, searchResultJSON{JobID: hit.JobID, Filename: hit.Filename.String(),
				Snippet: hit.Snippet.String(), Start: hit.Start})
		}
		if next != "" {
			out.Next = &next
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	m := views.SearchModel{Layout: h.layout(w, r, "Search: "+raw), Query: raw, Next: next, Page: page}
	m.Search = raw
	for _, hit := range res.Hits {
		m.Results = append(m.Results, views.SearchResult{JobID: hit.JobID, Filename: highlighted(hit.Filename),
			Snippet: highlighted(hit.Snippet), Start: hit.Start})
	}
	h.render(w, r, http.StatusOK, views.SearchPage(m))
}

// searchFailed answers a refused search: its message as JSON, or the
// search page showing it.
func (h *Handler) searchFailed(w http.ResponseWriter, r *http.Request, raw string, err error) {
	if wantsJSON(r) || job.ErrorCode(err) == job.CodeInternal {
		h.fail(w, r, err)
		return
	}
	m := views.SearchModel{Layout: h.layout(w, r, "Search"), Query: raw, Error: job.ErrorMessage(err), Page: 1}
	m.Search = raw
	h.render(w, r, statusOf[job.ErrorCode(err)], views.SearchPage(m))
}

func highlighted(m store.Marked) views.Highlighted {
	out := make(views.Highlighted, len(m))
	for i, run := range m {
		out[i] = views.HighlightRun{Text: run.Text, Match: run.Match}
	}
	return out
}
