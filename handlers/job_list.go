package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"scribe/job"
	"scribe/store"
)

// Page sizes of the job list.
const (
	defaultPageSize = 50
	maxPageSize     = 200
)

var (
	errBadLimit  = job.Errorf(job.CodeInvalid, fmt.Sprintf("limit must be a whole number of 1 or more (at most %d are sent).", maxPageSize))
	errBadSort   = job.Errorf(job.CodeInvalid, "sort must be date or name.")
	errBadStatus = job.Errorf(job.CodeInvalid, "status must be queued, processing, completed or failed.")
)

// jobPage is one page of the JSON job list.
type jobPage struct {
	Jobs []jobJSON `json:"jobs"`
	Next *string   `json:"next"` // the next page's path; null on the last
}

// listPage is the request's list query, the page of the user's jobs it
// asks for, and the cursor of the next page when there is one.
func (h *Handler) listPage(r *http.Request, u store.User) (store.JobQuery, []job.Job, *store.Cursor, error) {
	q, err := parseListQuery(r.URL.Query(), u.ID)
	if err != nil {
		return q, nil, nil, err
	}
	jobs, next, err := h.Store.ListJobs(r.Context(), q)
	return q, jobs, next, err
}

// listJobs answers GET /jobs: with Accept: application/json a page of the
// user's jobs and the path of the next; otherwise the list page.
func (h *Handler) listJobs(w http.ResponseWriter, r *http.Request, u store.User) {
	if !wantsJSON(r) {
		http.Redirect(w, r, listURL("/", r.URL.Query()), http.StatusSeeOther)
		return
	}
	_, jobs, next, err := h.listPage(r, u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page := jobPage{Jobs: make([]jobJSON, 0, len(jobs))}
	for _, j := range jobs {
		page.Jobs = append(page.Jobs, toJSON(j))
	}
	if next != nil {
		path := listURL("/jobs", pageValues(r.URL.Query(), next))
		page.Next = &path
	}
	writeJSON(w, http.StatusOK, page)
}

// parseListQuery reads the list's parameters: limit (default 50; more
// than 200 is taken as 200), sort (date, the default, or name), status, tag and after (the
// cursor from a next link).
func parseListQuery(v url.Values, userID int64) (store.JobQuery, error) {
	q := store.JobQuery{UserID: userID, Sort: store.SortDate, Limit: defaultPageSize}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, errBadLimit
		}
		q.Limit = min(n, maxPageSize)
	}
	switch s := store.JobSort(v.Get("sort")); s {
	case "", store.SortDate:
	case store.SortName:
		q.Sort = s
	default:
		return q, errBadSort
	}
	if s := job.Status(v.Get("status")); s != "" {
		if !s.Valid() {
			return q, errBadStatus
		}
		q.Status = s
	}
	if s := v.Get("tag"); s != "" {
		tag, err := job.CleanTag(s)
		if err != nil {
			return q, err
		}
		q.Tag = tag
	}
	if s := v.Get("after"); s != "" {
		c, err := store.ParseCursor(s, q.Sort)
		if err != nil {
			return q, err
		}
		q.After = &c
	}
	return q, nil
}

// pageValues are the parameters of the page after next: the same filters,
// sort and limit.
func pageValues(v url.Values, next *store.Cursor) url.Values {
	out := listValues(v)
	if next != nil {
		out.Set("after", next.String())
	}
	return out
}

// listValues keeps only the list's own parameters of v, without the
// cursor: the first page of the same list.
func listValues(v url.Values) url.Values {
	out := url.Values{}
	for _, k := range []string{"status", "tag", "sort", "limit"} {
		if s := v.Get(k); s != "" {
			out.Set(k, s)
		}
	}
	return out
}

// listURL is path with the list parameters of v, cursor included.
func listURL(path string, v url.Values) string {
	if v = listValuesWithCursor(v); len(v) > 0 {
		return path + "?" + v.Encode()
	}
	return path
}

// listValuesWithCursor is listValues plus the cursor, if v has one.
func listValuesWithCursor(v url.Values) url.Values {
	out := listValues(v)
	if s := v.Get("after"); s != "" {
		out.Set("after", s)
	}
	return out
}
