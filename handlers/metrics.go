package handlers

import (
	"crypto/subtle"
	"net/http"
)

// metrics serves the Prometheus metrics on the main listener to a Bearer
// of the metrics token; anyone else sees the 404 of a route that does not
// exist, so the public learns nothing about it.
func (h *Handler) metrics(w http.ResponseWriter, r *http.Request) {
	want := "Bearer " + h.cfg.MetricsToken
	// Constant time, so the answer's timing does not spell out the token.
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
		h.notFound(w, r)
		return
	}
	h.Metrics.Handler().ServeHTTP(w, r)
}

// MetricsRoutes is the surface of the metrics listener (SCRIBE_METRICS_ADDR):
// GET /metrics and nothing else, for a network only monitoring reaches.
func (h *Handler) MetricsRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h.Metrics.Handler())
	return mux
}
