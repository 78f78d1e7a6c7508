package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"scribe/deepscript"
	"scribe/job"
	"scribe/relay"
	"scribe/store"
)

const (
	// maxWebhookBytes caps a delivery; a transcript of several hours fits.
	maxWebhookBytes = 16 << 20
	// webhookBodyBudget bounds the memory that webhook bodies not yet
	// verified may hold at once, whoever sends them: each delivery holds
	// its declared length (or the cap, when chunked) of it while it is read.
	webhookBodyBudget = 64 << 20
)

// Variables for tests.
var (
	// webhookBudgetWait is how long a delivery waits for budget before it
	// is asked to come back later (503 with Retry-After).
	webhookBudgetWait = 5 * time.Second
	// webhookBodyTimeout bounds reading one body: a delivery that trickles
	// slower than about 280 KB/s at the cap is cut off. Each handler reads
	// it once, when made.
	webhookBodyTimeout = time.Minute
)

// webhookDeadline bounds the work behind one delivery once its body is in
// (fetching a result the body lacks, writing it): the contract gives us
// 15 s to answer, and past that the upstream counts a timeout anyway. A
// variable for tests.
var webhookDeadline = 10 * time.Second

// webhookGate holds what bounds the cost of unauthenticated deliveries.
type webhookGate struct {
	bodies *semaphore.Weighted
	// rejections logs refused deliveries at a bounded rate: forgeries are
	// cheap to send and must not become expensive to receive.
	rejections *rateLog
	// bodyTimeout bounds reading one body (webhookBodyTimeout).
	bodyTimeout time.Duration
	// verifier is the last endpoint secret's, rebuilt when it changes.
	verifier atomic.Pointer[deepscript.WebhookVerifier]
}

// verifierFor returns the verifier of secret, reusing the last one built.
func (g *webhookGate) verifierFor(secret string) (*deepscript.WebhookVerifier, error) {
	if v := g.verifier.Load(); v != nil && v.Secret() == secret {
		return v, nil
	}
	v, err := deepscript.NewWebhookVerifier(secret)
	if err != nil {
		return nil, err
	}
	g.verifier.Store(v)
	return v, nil
}

func newWebhookGate(log *slog.Logger) *webhookGate {
	return &webhookGate{bodies: semaphore.NewWeighted(webhookBodyBudget), rejections: newRateLog(log, 10*time.Second),
		bodyTimeout: webhookBodyTimeout}
}

// receiveWebhook checks a delivery's headers, reads its body within the
// memory budget, verifies the signature over the raw bytes, and hands the
// event to the relay, which drops repeats by webhook-id in the transaction
// that applies it. Anything it cannot use yet is left to the other
// channels.
func (h *Handler) receiveWebhook(w http.ResponseWriter, r *http.Request) {
	if err := deepscript.CheckWebhookHeaders(r.Header, h.Store.Now()); err != nil {
		h.rejectWebhook(w, r, err)
		return
	}
	if r.ContentLength > maxWebhookBytes {
		h.webhookAnswer(w, "rejected", http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	body, release, err := h.readWebhookBody(w, r)
	if err != nil {
		if errors.Is(err, errWebhookBusy) {
			w.Header().Set("Retry-After", "5")
			h.webhookAnswer(w, "busy", http.StatusServiceUnavailable, "try again later")
			return
		}
		h.webhookAnswer(w, "rejected", http.StatusRequestEntityTooLarge, "body too large or cut off")
		return
	}
	defer release()
	// The deadline for the work starts now that the body is in, so a slow
	// but genuine delivery is not failed by its own transfer time.
	ctx, cancel := context.WithTimeout(r.Context(), webhookDeadline)
	defer cancel()
	ep, err := h.Store.WebhookEndpoint(ctx)
	if err != nil {
		h.Log.Error("handlers: unable to read webhook secret", "error", err)
		h.webhookAnswer(w, "error", http.StatusServiceUnavailable, "try again later")
		return
	}
	if err := h.verifyWebhook(r.Header, body, ep); err != nil {
		// Another replica may have registered the endpoint anew, with a
		// new secret: read it again before refusing.
		fresh, rerr := h.Store.ReloadWebhookEndpoint(ctx)
		if rerr != nil || fresh.Secret == ep.Secret {
			h.rejectWebhook(w, r, err)
			return
		}
		if err := h.verifyWebhook(r.Header, body, fresh); err != nil {
			h.rejectWebhook(w, r, err)
			return
		}
	}
	var ev deepscript.WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		h.webhookAnswer(w, "rejected", http.StatusBadRequest, "malformed JSON")
		return
	}
	release() // the event is decoded: the raw bytes are no longer needed
	switch err := h.Relay.ApplyWebhook(ctx, r.Header.Get("webhook-id"), ev); {
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

// verifyWebhook checks a delivery's signature and time against ep's secret.
func (h *Handler) verifyWebhook(header http.Header, body []byte, ep store.WebhookEndpoint) error {
	verifier, err := h.webhooks.verifierFor(ep.Secret)
	if err != nil {
		return err
	}
	return verifier.Verify(header, body, h.Store.Now())
}

var errWebhookBusy = errors.New("handlers: webhook body budget exhausted")

// readWebhookBody reads a body of at most maxWebhookBytes, holding its
// share of the budget until release (which may be called more than once).
func (h *Handler) readWebhookBody(w http.ResponseWriter, r *http.Request) ([]byte, func(), error) {
	size := int64(maxWebhookBytes)
	if r.ContentLength >= 0 {
		size = r.ContentLength
	}
	wait, cancel := context.WithTimeout(r.Context(), webhookBudgetWait)
	defer cancel()
	if err := h.webhooks.bodies.Acquire(wait, max(size, 1)); err != nil {
		return nil, nil, errWebhookBusy
	}
	var once sync.Once
	release := func() { once.Do(func() { h.webhooks.bodies.Release(max(size, 1)) }) }
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.webhooks.bodyTimeout))
	buf := bytes.NewBuffer(make([]byte, 0, min(size, maxWebhookBytes)+bytes.MinRead))
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, size)); err != nil {
		release()
		return nil, nil, err
	}
	return buf.Bytes(), release, nil
}

// rejectWebhook answers a delivery that is not genuine: it is counted in
// memory and logged at a bounded rate, never written to the database.
func (h *Handler) rejectWebhook(w http.ResponseWriter, r *http.Request, err error) {
	h.webhooks.rejections.Warn("handlers: webhook rejected", "error", err, "remote", r.RemoteAddr)
	h.webhookAnswer(w, "rejected", http.StatusUnauthorized, "invalid signature")
}

func (h *Handler) webhookAnswer(w http.ResponseWriter, outcome string, status int, message string) {
	h.Metrics.WebhooksReceived.WithLabelValues(outcome).Inc()
	writeJSON(w, status, map[string]string{"status": message})
}
