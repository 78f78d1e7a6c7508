package handlers

import (
	"net/http"

	"scribe/store"
	"scribe/views"
)

// staleWebhookJobs is how many jobs must finish through other channels,
// with no webhook since, before the page warns that webhooks stopped.
const staleWebhookJobs = 3

// deliveryHealth shows how the user's latest finished jobs learnt their
// final state.
func (h *Handler) deliveryHealth(w http.ResponseWriter, r *http.Request, u store.User) {
	st, err := h.Store.DeliveryStats(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := views.DeliveryHealthModel{Layout: h.layout(w, r, "Delivery health"),
		ViaWebhook: st.ViaWebhook, ViaSSE: st.ViaSSE, ViaPoll: st.ViaPoll, ViaSubmit: st.ViaSubmit,
		PollsMade: st.PollsMade, PollsAt3s: st.PollsAt3s,
		MedianLatency: st.MedianLatency.Seconds(), Window: store.DeliveryWindow,
		LastWebhookAt: st.LastWebhookAt, WebhooksStale: st.FinishedSinceLastWebhook >= staleWebhookJobs}
	h.render(w, r, http.StatusOK, views.DeliveryHealthPage(m))
}
