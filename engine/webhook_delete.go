package engine

import "net/http"

// deleteWebhook is DELETE /v1/webhooks/{id}: remove an endpoint and drop
// its undelivered events.
func (a *api) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := a.store.DeleteWebhook(r.Context(), id); err != nil {
		a.writeError(w, r, storeNotFound(err, "webhook endpoint"))
		return
	}
	a.log.Info("webhook endpoint deleted", "webhook_id", id)
	w.WriteHeader(http.StatusNoContent)
}
