package handlers

import (
	"errors"
	"net/http"

	"scribe/store"
)

// retryJob sends a failed job upstream again as a new attempt.
func (h *Handler) retryJob(w http.ResponseWriter, r *http.Request, u store.User) {
	j, err := h.Store.RetryJob(r.Context(), u.ID, r.PathValue("id"))
	if errors.Is(err, store.ErrConflict) {
		err = newError(http.StatusConflict, "Only a failed job can be retried.")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Relay.Publish(j)
	h.Submit()
	http.Redirect(w, r, "/jobs/"+j.ID, http.StatusSeeOther)
}
