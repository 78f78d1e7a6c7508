package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"scribe/deepscript"
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
// repeats by webhook-id, and applies the event through the relay. It never
// moves a job backwards; anything it cannot use yet is left to the other
// channels.
func (h *Handler) receiveWebhook(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), webhookDeadline)
	defer cancel()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	if err != nil {
		h.webhookAnswer(w, "rejected", http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	secret, err := h.Store.Setting(ctx, store.SettingWebhookSecret)
	if err != nil {
		h.Log.Error("handlers: unable to read webhook secret", "error", err)
		h.webhookAnswer(w, "error", http.StatusServiceUnavailable, "try again later")
		return
	}
	if err := deepscript.VerifyWebhook(secret, r.Header, body, time.Now()); err != nil {
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
	now := time.Now().UTC().Format(time.RFC3339Nano)
	switch ev.Event {
	case deepscript.EventBalanceLow:
		err = h.Store.RecordWebhook(ctx, webhookID, ev.Event,
			map[string]string{store.SettingBalanceLowAt: now, store.SettingLastWebhookAt: now})
	case deepscript.EventCompleted, deepscript.EventFailed:
		err = h.applyWebhook(ctx, webhookID, ev)
		if relay.IsUnknownJob(err) && ev.ID != "" {
			// Perhaps ours, arriving before the submit's answer: adopt it.
			// (Not found also when the answer got recorded meanwhile.)
			if err = h.Relay.Adopt(ctx, ev.ID); err == nil || relay.IsUnknownJob(err) {
				err = h.applyWebhook(ctx, webhookID, ev)
			}
		}
		if err == nil || errors.Is(err, store.ErrDuplicate) {
			if serr := h.Store.SetSettings(ctx, map[string]string{store.SettingLastWebhookAt: now}); serr != nil {
				h.Log.Error("handlers: unable to note webhook time", "error", serr)
			}
		}
	default:
		// An event we did not subscribe to: acknowledge so it is not retried.
		h.webhookAnswer(w, "ignored", http.StatusOK, "event ignored")
		return
	}
	switch {
	case err == nil:
		h.webhookAnswer(w, "applied", http.StatusOK, "ok")
	case errors.Is(err, store.ErrDuplicate):
		h.webhookAnswer(w, "duplicate", http.StatusOK, "already handled")
	case relay.IsUnknownJob(err):
		// Not one of our jobs: acknowledge, so it is not retried.
		h.webhookAnswer(w, "ignored", http.StatusOK, "unknown transcription")
	default:
		// Fetching the result or writing failed: ask the upstream to retry.
		h.Log.Warn("handlers: unable to apply webhook", "upstream_id", ev.ID, "error", err)
		h.webhookAnswer(w, "error", http.StatusServiceUnavailable, "try again later")
	}
}

func (h *Handler) applyWebhook(ctx context.Context, webhookID string, ev deepscript.WebhookEvent) error {
	if ev.ID == "" {
		return store.ErrNotFound
	}
	u := store.Update{UpstreamID: ev.ID, Via: store.ViaWebhook, UpstreamAt: ev.CreatedAt, WebhookID: webhookID}
	if ev.Event == deepscript.EventCompleted {
		u.Status, u.Result = deepscript.StatusCompleted, ev.Result
	} else {
		u.Status = deepscript.StatusFailed
		u.Error = relay.FailureMessage(ev.Error) // store.DefaultFailure when empty
	}
	// The webhook-id is recorded in the same transaction as the change.
	_, err := h.Relay.Apply(ctx, u)
	return err
}

func (h *Handler) webhookAnswer(w http.ResponseWriter, outcome string, status int, message string) {
	h.Metrics.WebhooksReceived.WithLabelValues(outcome).Inc()
	writeJSON(w, status, map[string]string{"status": message})
}
