package handlers

import (
	"context"
	"net/http"
	"slices"
	"time"

	"scribe/store"
	"scribe/views"
)

// healthz answers 200 when the store and the upstream both answer.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	checks := map[string]string{"store": "ok", "upstream": "ok"}
	status := http.StatusOK
	// The answer is public: it says what is down, the log says why (the
	// errors name files, hosts and the upstream's URL).
	if err := h.Store.Ping(ctx); err != nil {
		h.Log.Error("handlers: health check: store", "error", err)
		checks["store"], status = "unavailable", http.StatusServiceUnavailable
	}
	if _, err := h.Client.ListWebhooks(ctx); err != nil {
		h.Log.Warn("handlers: health check: upstream", "error", err)
		checks["upstream"], status = "unavailable", http.StatusServiceUnavailable
	}
	writeJSON(w, status, checks)
}

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
	p := views.DeliveryHealth{Layout: h.layout(w, r, "Delivery health"),
		ViaWebhook: st.ViaWebhook, ViaSSE: st.ViaSSE, ViaPoll: st.ViaPoll,
		RejectedWebhooks: st.RejectedWebhooks, PollsMade: st.PollsMade, PollsAt3s: st.PollsAt3s,
		LastWebhookAt: st.LastWebhookAt, WebhooksStale: st.FinishedSinceLastWebhook >= staleWebhookJobs}
	if n := len(st.Latencies); n > 0 {
		slices.Sort(st.Latencies)
		p.MedianLatency = st.Latencies[n/2].Seconds()
	}
	h.render(w, r, http.StatusOK, views.DeliveryHealthPage(p))
}
