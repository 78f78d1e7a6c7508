package handlers

import (
	"context"
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
	t, err := h.transcript(r.Context(), j)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.JobPage(views.JobModel{Layout: h.layout(w, r, j.Filename), Job: viewJob(j), Transcript: t}))
}

// transcript is a completed job's text as its page shows it; empty for a
// job that has not completed or whose result is missing.
func (h *Handler) transcript(ctx context.Context, j job.Job) (views.Transcript, error) {
	var t views.Transcript
	if j.Status != job.StatusCompleted {
		return t, nil
	}
	res, err := h.Store.Result(ctx, j.ID)
	if errors.Is(err, job.ErrNotFound) {
		return t, nil
	}
	if err != nil {
		return t, err
	}
	t.Text = res.Text
	for _, s := range res.Segments {
		t.Segments = append(t.Segments, views.Segment{Start: s.Start, End: s.End, Text: s.Text})
	}
	return t, nil
}
