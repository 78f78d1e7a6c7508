package handlers

import (
	"net/http"

	"scribe/recovery"
)

// Routes returns the whole HTTP surface of the app.
func (h *Handler) Routes() http.Handler {
	browser := http.NewServeMux()
	browser.HandleFunc("GET /signup", h.showSignup)
	browser.HandleFunc("POST /signup", h.signup)
	browser.HandleFunc("GET /login", h.showLogin)
	browser.HandleFunc("POST /login", h.login)
	browser.HandleFunc("POST /logout", h.logout)
	browser.HandleFunc("GET /reset/{token}", h.showReset)
	browser.HandleFunc("POST /reset/{token}", h.resetPassword)
	browser.HandleFunc("GET /account", h.page(h.showAccount))
	browser.HandleFunc("POST /account/password", h.page(h.changePassword))
	browser.HandleFunc("GET /account/tokens", h.page(h.showAPITokens))
	browser.HandleFunc("POST /account/tokens/{id}/revoke", h.page(h.revokeAPIToken))
	browser.HandleFunc("GET /api/tokens", h.page(h.listAPITokens))
	browser.HandleFunc("POST /api/tokens", h.page(h.createAPIToken))
	browser.HandleFunc("DELETE /api/tokens/{id}", h.page(h.revokeAPIToken))
	browser.HandleFunc("GET /api/openapi.json", serveOpenAPI)
	browser.HandleFunc("GET /admin/users", h.admin(h.adminUsers))
	browser.HandleFunc("POST /admin/invitations", h.admin(h.createInvitation))
	browser.HandleFunc("POST /admin/users/{id}/disable", h.admin(h.disableUser))
	browser.HandleFunc("POST /admin/users/{id}/enable", h.admin(h.enableUser))
	browser.HandleFunc("POST /admin/users/{id}/reset", h.admin(h.createResetLink))

	browser.HandleFunc("GET /{$}", h.page(h.home))
	browser.HandleFunc("POST /jobs", h.api(h.uploadJobs))
	browser.HandleFunc("GET /jobs", h.pageOrAPI(h.listJobs))
	browser.HandleFunc("POST /jobs/delete", h.page(h.deleteJobs))
	browser.HandleFunc("PATCH /jobs/{id}", h.api(h.patchJob))
	browser.HandleFunc("POST /jobs/{id}/rename", h.page(h.renameJob))
	browser.HandleFunc("POST /jobs/{id}/tags", h.page(h.tagJob))
	browser.HandleFunc("GET /jobs/{id}", h.pageOrAPI(h.showJob))
	browser.HandleFunc("DELETE /jobs/{id}", h.api(h.deleteJob))
	browser.HandleFunc("GET /jobs/{id}/events", h.api(h.jobEvents))
	browser.HandleFunc("GET /events", h.api(h.userEvents))
	browser.HandleFunc("GET /jobs/{id}/audio", h.api(h.jobAudio))
	browser.HandleFunc("GET /jobs/{id}/{file}", h.api(h.downloadTranscript))
	browser.HandleFunc("PUT /jobs/{id}/transcript.json", h.api(h.editTranscript))
	browser.HandleFunc("GET /jobs/{id}/segments/{n}/edit", h.page(h.showSegmentEdit))
	browser.HandleFunc("POST /jobs/{id}/segments/{n}/edit", h.page(h.editSegment))
	browser.HandleFunc("GET /jobs/{id}/revisions", h.pageOrAPI(h.listRevisions))
	browser.HandleFunc("POST /jobs/{id}/revisions/{rev}/restore", h.pageOrAPI(h.restoreRevision))
	browser.HandleFunc("POST /jobs/{id}/delete", h.page(h.deleteJob))
	browser.HandleFunc("POST /jobs/{id}/retry", h.page(h.retryJob))
	browser.HandleFunc("POST /jobs/{id}/share", h.api(h.shareJob))
	browser.HandleFunc("DELETE /jobs/{id}/share", h.api(h.revokeShare))
	browser.HandleFunc("POST /jobs/{id}/share/delete", h.page(h.revokeShare))
	browser.HandleFunc("GET /shared/{token}", h.showShared)
	browser.HandleFunc("GET /shared/{token}/audio", h.sharedAudio)
	browser.HandleFunc("GET /shared/{token}/{file}", h.sharedTranscript)
	browser.HandleFunc("GET /search", h.api(h.search))
	browser.HandleFunc("GET /delivery", h.page(h.deliveryHealth))
	browser.HandleFunc("POST /api/webhooks", h.api(h.createWebhookAPI))
	browser.HandleFunc("GET /api/webhooks", h.api(h.listWebhooksAPI))
	browser.HandleFunc("DELETE /api/webhooks/{id}", h.api(h.deleteWebhookAPI))
	browser.HandleFunc("GET /account/webhooks", h.page(h.showWebhooks))
	browser.HandleFunc("POST /account/webhooks", h.page(h.createWebhookForm))
	browser.HandleFunc("POST /account/webhooks/{id}/delete", h.page(h.deleteWebhookForm))
	browser.HandleFunc("POST /account/webhooks/{id}/test", h.page(h.testWebhook))
	browser.HandleFunc("POST /account/webhooks/deliveries/{delivery}/redeliver", h.page(h.redeliverWebhook))
	browser.Handle("GET /static/", staticAssets())
	browser.HandleFunc("/", h.notFound)

	mux := http.NewServeMux()
	// The upstream posts webhooks without Origin headers or cookies; they
	// are authenticated by their signature instead.
	mux.HandleFunc("POST /webhooks/deepscript", h.receiveWebhook)
	mux.HandleFunc("GET /healthz", h.healthz)
	if h.cfg.MetricsToken != "" {
		mux.HandleFunc("GET /metrics", h.metrics)
	}
	mux.Handle("/", http.NewCrossOriginProtection().Handler(browser))
	return recovery.Handler(securityHeaders(bodyDeadlines(mux), h.cfg.SecureCookies), h.Log, func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, errPanicked)
	})
}
