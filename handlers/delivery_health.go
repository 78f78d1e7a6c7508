package handlers

import (
	"net/http"
	"slices"

	"scribe/store"
	"scribe/views"
)

// staleWebhookJobs is how many jobs must finish through other channels,
// with no webhook since, before the page warns that webhooks stopped.
const staleWebhookJobs = 3

// deliveryHealth shows how the user's jobs learnt their final state.
func (h *Handler) deliveryHealth(w http.ResponseWriter, r *http.Request, u store.User) {
	st, err := h.Store.DeliveryStats(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := views.DeliveryHealthModel{Layout: h.layout(w, r, "Delivery health"),
		ViaWebhook: st.ViaWebhook, ViaSSE: st.ViaSSE, ViaPoll: st.ViaPoll, ViaSubmit: st.ViaSubmit,
		PollsMade: st.PollsMade, PollsAt3s: st.PollsAt3s,
		LastWebhookAt: st.LastWebhookAt, WebhooksStale: st.FinishedSinceLastWebhook >= staleWebhookJobs}
	if n := len(st.Latencies); n > 0 {
		slices.Sort(st.Latencies)
		m.MedianLatency = st.Latencies[n/2].Seconds()
	}
	h.render(w, r, http.StatusOK, views.DeliveryHealthPage(m))
}
