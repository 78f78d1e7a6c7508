package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"scribe/deepscript"
	"scribe/job"
	"scribe/relay"
	"scribe/store"
)

// maxWebhookBytes caps a delivery; a transcript of several hours fits.
const maxWebhookBytes = 16 << 20

// webhookDeadline bounds the work behind one delivery (fetching a result
// the body lacks, writing it): the contract gives us 15 s to answer, and
// past that the upstream counts a timeout anyway. A variable for tests.
var webhookDeadline = 10 * time.Second

// receiveWebhook verifies a delivery's signature over the raw body, drops
// repeats by webhook-id, and hands the event to the relay. Anything it
// cannot use yet is left to the other channels.
func (h *Handler) receiveWebhook(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), webhookDeadline)
	defer cancel()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	if err != nil {
		h.webhookAnswer(w, "rejected", http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	ep, err := h.Store.WebhookEndpoint(ctx)
	if err != nil {
		h.Log.Error("handlers: unable to read webhook secret", "error", err)
		h.webhookAnswer(w, "error", http.StatusServiceUnavailable, "try again later")
		return
	}
	if err := deepscript.VerifyWebhook(ep.Secret, r.Header, body, h.Store.Now()); err != nil {
		if err := h.Store.CountRejectedWebhook(ctx); err != nil {
			h.Log.Error("handlers: unable to count rejected webhook", "error", err)
		}
		h.Log.Warn("handlers: webhook rejected", "error", err, "remote", r.RemoteAddr)
		h.webhookAnswer(w, "rejected", http.StatusUnauthorized, "invalid signature")
		return
	}
	webhookID := r.Header.Get("webhook-id")
	if seen, err := h.Store.WebhookSeen(ctx, webhookID); err == nil && seen {
		h.webhookAnswer(w, "duplicate", http.StatusOK, "already handled")
		return
	}
	var ev deepscript.WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		h.webhookAnswer(w, "rejected", http.StatusBadRequest, "malformed JSON")
		return
	}
	switch err := h.Relay.ApplyWebhook(ctx, webhookID, ev); {
	case err == nil:
		h.webhookAnswer(w, "applied", http.StatusOK, "ok")
	case errors.Is(err, store.ErrDuplicate):
		h.webhookAnswer(w, "duplicate", http.StatusOK, "already handled")
	case errors.Is(err, relay.ErrIgnored):
		// An event we did not subscribe to: acknowledge so it is not retried.
		h.webhookAnswer(w, "ignored", http.StatusOK, "event ignored")
	case errors.Is(err, job.ErrNotFound):
		// Not one of our jobs: acknowledge, so it is not retried.
		h.webhookAnswer(w, "ignored", http.StatusOK, "unknown transcription")
	default:
		// Fetching the result or writing failed: ask the upstream to retry.
		h.Log.Warn("handlers: unable to apply webhook", "upstream_id", ev.ID, "error", err)
		h.webhookAnswer(w, "error", http.StatusServiceUnavailable, "try again later")
	}
}

func (h *Handler) webhookAnswer(w http.ResponseWriter, outcome string, status int, message string) {
	h.Metrics.WebhooksReceived.WithLabelValues(outcome).Inc()
	writeJSON(w, status, map[string]string{"status": message})
}
