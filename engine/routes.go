package engine

import (
	"log/slog"
	"net/http"

	"scribe/deepscript"
	"scribe/recovery"
)

// api holds what the HTTP handlers need.
type api struct {
	cfg      Config
	log      *slog.Logger
	store    *store
	hub      *hub
	audioDir string
	workers  *workerPool
	outbox   *deliverer
}

// routes is the whole HTTP surface of the engine: the DeepScript v1
// contract behind the API key.
func (a *api) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/transcriptions", a.createTranscription)
	mux.HandleFunc("GET /v1/transcriptions/{id}", a.showTranscription)
	mux.HandleFunc("GET /v1/transcriptions/{id}/status", a.showTranscriptionStatus)
	mux.HandleFunc("GET /v1/transcriptions/{id}/events", a.streamTranscriptionEvents)
	mux.HandleFunc("DELETE /v1/transcriptions/{id}", a.deleteTranscription)
	mux.HandleFunc("POST /v1/webhooks", a.createWebhook)
	mux.HandleFunc("GET /v1/webhooks", a.listWebhooks)
	mux.HandleFunc("DELETE /v1/webhooks/{id}", a.deleteWebhook)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.writeError(w, r, notFound("route "+r.Method+" "+r.URL.Path))
	})
	return recovery.Handler(a.requireAPIKey(mux), a.log, func(w http.ResponseWriter, r *http.Request) {
		a.writeError(w, r, &apiError{http.StatusInternalServerError, deepscript.CodeInternal, "internal error"})
	})
}
