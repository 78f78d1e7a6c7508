package handlers

import (
	"fmt"
	"net/http"
	"time"

	"scribe/job"
	"scribe/store"
	"scribe/views"
)

// revisionJSON is a revision as the JSON API lists it.
type revisionJSON struct {
	ID        int64      `json:"id"`
	CreatedAt time.Time  `json:"created_at"`
	Source    job.Source `json:"source"`
}

func toRevisionJSON(r job.Revision) revisionJSON {
	return revisionJSON{ID: r.ID, CreatedAt: r.CreatedAt, Source: r.Source}
}

// listRevisions shows the history of a job's transcript, newest first: a
// page with a restore button per revision, or {"revisions": [...]}.
func (h *Handler) listRevisions(w http.ResponseWriter, r *http.Request, u store.User) {
	j, err := h.Store.Job(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	revs, err := h.Store.Revisions(r.Context(), j.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		out := make([]revisionJSON, len(revs))
		for i, rev := range revs {
			out[i] = toRevisionJSON(rev)
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string][]revisionJSON{"revisions": out})
		return
	}
	m := views.RevisionsModel{Layout: h.layout(w, r, "History of "+j.Name), Job: viewJob(j)}
	for _, rev := range revs {
		v := views.Revision{ID: rev.ID, Source: string(rev.Source), RestoredFrom: rev.RestoredFrom,
			CreatedAt: rev.CreatedAt, Current: rev.ID == j.RevisionID}
		if rev.AuthorID != 0 {
			// Only a job's owner can save its transcript.
			v.Author = u.Email
		}
		m.Revisions = append(m.Revisions, v)
	}
	h.render(w, r, http.StatusOK, views.RevisionsPage(m))
}

// restoreRevision makes a copy of one of a job's revisions current (POST
// /jobs/{id}/revisions/{rev}/restore): the new revision as JSON with its
// ETag, or back to the job page with a note.
func (h *Handler) restoreRevision(w http.ResponseWriter, r *http.Request, u store.User) {
	id, ok := parseRevision(r.PathValue("rev"))
	if !ok {
		h.fail(w, r, job.ErrNotFound)
		return
	}
	rev, err := h.Relay.Restore(r.Context(), u.ID, r.PathValue("id"), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		w.Header().Set("ETag", revisionETag(rev.ID))
		writeJSON(w, http.StatusOK, toRevisionJSON(rev))
		return
	}
	h.flash(w, r, fmt.Sprintf("Revision #%d is the current transcript again.", id))
	http.Redirect(w, r, "/jobs/"+rev.JobID, http.StatusSeeOther)
}
