package engine

import (
	"net/http"

	"scribe/deepscript"
)

// listWebhooks is GET /v1/webhooks: the endpoints, without secrets.
func (a *api) listWebhooks(w http.ResponseWriter, r *http.Request) {
	list, err := a.store.Webhooks(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deepscript.WebhookEndpointList{Data: list})
}
