package handlers

import (
	"context"
	"errors"
	"net/http"
	"os"
	"time"

	"scribe/deepscript"
	"scribe/store"
)

// deleteJob removes a job here and its audio and transcript upstream.
func (h *Handler) deleteJob(w http.ResponseWriter, r *http.Request, u store.User) {
	j, err := h.Store.DeleteJob(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := os.Remove(j.AudioPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		h.Log.Warn("handlers: unable to remove audio", "job_id", j.ID, "error", err)
	}
	if j.UpstreamID != "" {
		h.Relay.Forget(j.UpstreamID)
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := h.Client.DeleteTranscription(ctx, j.UpstreamID); err != nil && !deepscript.IsNotFound(err) {
			h.Log.Warn("handlers: unable to delete upstream transcription", "job_id", j.ID, "upstream_id", j.UpstreamID, "error", err)
		}
	}
	h.flash(w, r, "Deleted "+j.Filename+".")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
