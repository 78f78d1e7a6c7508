package engine

import (
	"net/http"
	"net/url"
	"slices"

	"scribe/deepscript"
	"scribe/random"
)

// webhookEvents are the events an endpoint may subscribe to.
var webhookEvents = []string{deepscript.EventCompleted, deepscript.EventFailed, deepscript.EventBalanceLow}

const maxURLLength = 2048

// createWebhook is POST /v1/webhooks: register an endpoint and show its
// signing secret, once.
func (a *api) createWebhook(w http.ResponseWriter, r *http.Request) {
	var req deepscript.CreateWebhookRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := validateWebhookURL(req.URL); err != nil {
		a.writeError(w, r, err)
		return
	}
	if len(req.Events) == 0 {
		a.writeError(w, r, invalidRequest("events must list at least one of %v", webhookEvents))
		return
	}
	var events []string
	for _, e := range req.Events {
		if !slices.Contains(webhookEvents, e) {
			a.writeError(w, r, invalidRequest("unknown event %q: want one of %v", e, webhookEvents))
			return
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	// The secret's form is the one the Standard Webhooks libraries expect.
	secret := "whsec_" + random.Base64(32)
	ep, err := a.store.CreateWebhook(r.Context(), random.ID("we_"), req.URL, events, secret)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.log.Info("webhook endpoint registered", "webhook_id", ep.ID, "url", ep.URL)
	writeJSON(w, http.StatusCreated, ep)
}

// validateWebhookURL accepts absolute http(s) URLs with a host.
func validateWebhookURL(raw string) error {
	if raw == "" {
		return invalidRequest("url is required")
	}
	if len(raw) > maxURLLength {
		return invalidRequest("url is longer than %d characters", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalidRequest("url must be an absolute http or https URL")
	}
	return nil
}
