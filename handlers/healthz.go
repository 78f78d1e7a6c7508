package handlers

import (
	"context"
	"net/http"
	"time"
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
