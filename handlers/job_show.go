package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"

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
	m := views.JobModel{Layout: h.layout(w, r, j.Name), Job: viewJob(j), Transcript: t}
	if j.Status == job.StatusCompleted {
		sh, active, err := h.Store.ActiveShare(r.Context(), j.ID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		m.Share = views.Share{Active: active, ExpiresAt: sh.ExpiresAt, URL: h.takeShareLink(w, r)}
	}
	h.render(w, r, http.StatusOK, views.JobPage(m))
}

// transcript is a completed job's text as its page shows it; empty for a
// job that has not completed or whose result is missing.
func (h *Handler) transcript(ctx context.Context, j job.Job) (views.Transcript, error) {
	var t views.Transcript
	if j.Status != job.StatusCompleted {
		return t, nil
	}
	rev, err := h.Store.CurrentRevision(ctx, j.ID)
	if errors.Is(err, job.ErrNotFound) {
		return t, nil
	}
	if err != nil {
		return t, err
	}
	t.Text, t.ETag = rev.Result.Text, revisionETag(rev.ID)
	for _, s := range rev.Result.Segments {
		t.Segments = append(t.Segments, views.Segment{Start: s.Start, End: s.End, Text: s.Text,
			Speaker: s.Speaker, Words: viewWords(s)})
	}
	return t, nil
}

// viewWords pairs each word of a segment's text with the timing of its
// recognised word, so the page shows the text as written (case and
// punctuation included) and the player can follow it. A segment whose word
// list does not match its text word for word gets none.
func viewWords(s job.Segment) []views.Word {
	text := strings.Fields(s.Text)
	if len(s.Words) == 0 || len(text) != len(s.Words) {
		return nil
	}
	out := make([]views.Word, len(text))
	for i, w := range s.Words {
		out[i] = views.Word{Text: text[i], Start: w.Start, End: w.End}
	}
	return out
}
