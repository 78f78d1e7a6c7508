package handlers

import (
	"errors"
	"net/http"

	"scribe/job"
	"scribe/store"
)

// retryJob sends a failed job upstream again as a new attempt.
func (h *Handler) retryJob(w http.ResponseWriter, r *http.Request, u store.User) {
	j, err := h.Relay.Retry(r.Context(), u.ID, r.PathValue("id"))
	if errors.Is(err, job.ErrConflict) {
		err = job.Errorf(job.CodeConflict, "Only a failed job can be retried.")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/jobs/"+j.ID, http.StatusSeeOther)
}
