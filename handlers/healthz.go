package handlers

import (
	"context"
	"net/http"
	"sync"
	"time"
)

const (
	// healthStoreTTL and healthUpstreamTTL bound how often a health check
	// touches the database and the upstream, however often it is asked.
	healthStoreTTL    = 5 * time.Second
	healthUpstreamTTL = 30 * time.Second
)

// health caches the answers /healthz gives.
type health struct {
	mu                  sync.Mutex
	storeAt, upstreamAt time.Time
	storeOK, upstreamOK bool
	diskOK              bool
}

// healthz answers 200 when the store, the upstream and the upload disk are
// fine, 503 naming what is not. Results are cached, so polling it is cheap
// for us and for the upstream.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	now := time.Now()
	h.health.mu.Lock()
	defer h.health.mu.Unlock()
	// The answer is public: it says what is down, the log says why (the
	// errors name files, hosts and the upstream's URL).
	if now.Sub(h.health.storeAt) > healthStoreTTL {
		err := h.Store.Ping(ctx)
		if err != nil {
			h.Log.Error("handlers: health check: store", "error", err)
		}
		h.health.storeOK, h.health.storeAt = err == nil, now
		free, err := h.Free(h.cfg.UploadDir)
		if err != nil {
			h.Log.Error("handlers: health check: disk", "error", err)
		} else if int64(free) < h.cfg.MinFreeBytes {
			h.Log.Warn("handlers: health check: disk space low", "dir", h.cfg.UploadDir, "free_bytes", free)
		}
		h.health.diskOK = err == nil && int64(free) >= h.cfg.MinFreeBytes
	}
	if now.Sub(h.health.upstreamAt) > healthUpstreamTTL {
		_, err := h.Client.ListWebhooks(ctx)
		if err != nil {
			h.Log.Warn("handlers: health check: upstream", "error", err)
		}
		h.health.upstreamOK, h.health.upstreamAt = err == nil, now
	}
	checks := map[string]string{"store": "ok", "upstream": "ok", "disk": "ok"}
	status := http.StatusOK
	for name, ok := range map[string]bool{"store": h.health.storeOK, "upstream": h.health.upstreamOK, "disk": h.health.diskOK} {
		if !ok {
			checks[name], status = "unavailable", http.StatusServiceUnavailable
		}
	}
	if !h.health.diskOK {
		checks["disk"] = "low"
	}
	writeJSON(w, status, checks)
}
