package handlers

import (
	"errors"
	"net/http"

	"scribe/job"
	"scribe/store"
	"scribe/views"
)

func (h *Handler) showJob(w http.ResponseWriter, r *http.Request, u store.User) {
	j, err := h.Store.Job(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, toJSON(j))
		return
	}
	m := views.JobModel{Layout: h.layout(w, r, j.Filename), Job: viewJob(j)}
	if j.Status == job.StatusCompleted {
		res, err := h.Store.Result(r.Context(), j.ID)
		if err != nil && !errors.Is(err, job.ErrNotFound) {
			h.fail(w, r, err)
			return
		}
		if res != nil {
			m.Text = res.Text
			for _, s := range res.Segments {
				m.Segments = append(m.Segments, views.Segment{Start: s.Start, End: s.End, Text: s.Text})
			}
		}
	}
	h.render(w, r, http.StatusOK, views.JobPage(m))
}
