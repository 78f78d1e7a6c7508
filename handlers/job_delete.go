package handlers

import (
	"net/http"

	"scribe/store"
)

// deleteJob removes a job here and its audio and transcript upstream:
// 204 for DELETE /jobs/{id}, back to the list for the page's form.
func (h *Handler) deleteJob(w http.ResponseWriter, r *http.Request, u store.User) {
	j, err := h.Relay.Delete(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if r.Method == http.MethodDelete {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.flash(w, r, "Deleted "+j.Name+".")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
