package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"scribe/job"
	"scribe/outbox"
	"scribe/store"
	"scribe/views"
)

// deliveriesShown is how many of an endpoint's latest deliveries its page lists.
const deliveriesShown = 20

// maxWebhookJSONBytes caps the body of POST /api/webhooks.
const maxWebhookJSONBytes = 16 << 10

var errBadWebhookJSON = job.Errorf(job.CodeInvalid, `Send JSON like {"url": "https://…", "events": ["job.completed"]}.`)

// webhookJSON is an endpoint as the API shows it; the secret only in the
// answer that registers it.
type webhookJSON struct {
	ID        string      `json:"id"`
	URL       string      `json:"url"`
	Events    []job.Event `json:"events"`
	Secret    string      `json:"secret,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
}

func toWebhookJSON(e store.HookEndpoint) webhookJSON {
	return webhookJSON{ID: e.ID, URL: e.URL, Events: e.Events, CreatedAt: e.CreatedAt}
}

// registerWebhook checks an endpoint's URL and events (none means
// job.completed and job.failed) and registers it with a new secret.
func (h *Handler) registerWebhook(ctx context.Context, u store.User, rawURL string, events []string) (store.HookEndpoint, error) {
	target, err := outbox.CheckURL(rawURL, h.cfg.WebhookAllowPrivate)
	if err != nil {
		return store.HookEndpoint{}, err
	}
	var subscribed []job.Event
	for _, name := range events {
		e := job.Event(name)
		if !e.Subscribable() {
			return store.HookEndpoint{}, job.Errorf(job.CodeInvalid,
				"Unknown event "+strconv.Quote(name)+": choose job.completed, job.failed or job.progress.")
		}
		if !slices.Contains(subscribed, e) {
			subscribed = append(subscribed, e)
		}
	}
	if len(subscribed) == 0 {
		subscribed = []job.Event{job.EventCompleted, job.EventFailed}
	}
	return h.Store.CreateHookEndpoint(ctx, store.HookEndpoint{UserID: u.ID, URL: target,
		Secret: outbox.NewSecret(), Events: subscribed})
}

// createWebhookAPI is POST /api/webhooks: JSON in, the endpoint with its
// secret out (201).
func (h *Handler) createWebhookAPI(w http.ResponseWriter, r *http.Request, u store.User) {
	var in struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxWebhookJSONBytes)
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			err = errBadWebhookJSON
		}
		h.fail(w, r, err)
		return
	}
	e, err := h.registerWebhook(r.Context(), u, in.URL, in.Events)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := toWebhookJSON(e)
	out.Secret = e.Secret
	writeJSON(w, http.StatusCreated, out)
}

// listWebhooksAPI is GET /api/webhooks: the user's endpoints, no secrets.
func (h *Handler) listWebhooksAPI(w http.ResponseWriter, r *http.Request, u store.User) {
	endpoints, err := h.Store.HookEndpoints(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := struct {
		Webhooks []webhookJSON `json:"webhooks"`
	}{Webhooks: []webhookJSON{}}
	for _, e := range endpoints {
		out.Webhooks = append(out.Webhooks, toWebhookJSON(e))
	}
	writeJSON(w, http.StatusOK, out)
}

// deleteWebhookAPI is DELETE /api/webhooks/{id}: 204, or 404 for an
// endpoint that is not the user's.
func (h *Handler) deleteWebhookAPI(w http.ResponseWriter, r *http.Request, u store.User) {
	if err := h.Store.DeleteHookEndpoint(r.Context(), u.ID, r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// showWebhooks is the webhooks page.
func (h *Handler) showWebhooks(w http.ResponseWriter, r *http.Request, u store.User) {
	h.renderWebhooks(w, r, u, http.StatusOK, views.WebhooksModel{})
}

// renderWebhooks fills the page's endpoints and their deliveries into m
// and renders it with status.
func (h *Handler) renderWebhooks(w http.ResponseWriter, r *http.Request, u store.User, status int, m views.WebhooksModel) {
	endpoints, err := h.Store.HookEndpoints(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m.Layout = h.layout(w, r, "Webhooks")
	for _, e := range job.Events {
		m.AllEvents = append(m.AllEvents, string(e))
	}
	if m.Events == nil && m.Error == "" {
		m.Events = []string{string(job.EventCompleted), string(job.EventFailed)}
	}
	for _, e := range endpoints {
		deliveries, err := h.Store.HookDeliveries(r.Context(), u.ID, e.ID, deliveriesShown)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		v := views.WebhookEndpoint{ID: e.ID, URL: e.URL, CreatedAt: e.CreatedAt}
		for _, ev := range e.Events {
			v.Events = append(v.Events, string(ev))
		}
		for _, d := range deliveries {
			v.Deliveries = append(v.Deliveries, views.WebhookDelivery{ID: d.ID, MessageID: d.MessageID,
				Event: string(d.Event), JobID: d.JobID, State: d.State, Attempts: d.Attempts, LastStatus: d.LastStatus,
				LastError: d.LastError, LastAttemptAt: d.LastAttemptAt, NextAttemptAt: d.NextAttemptAt})
		}
		m.Endpoints = append(m.Endpoints, v)
	}
	h.render(w, r, status, views.WebhooksPage(m))
}

// createWebhookForm registers an endpoint from the page's form and shows
// its secret, this once.
func (h *Handler) createWebhookForm(w http.ResponseWriter, r *http.Request, u store.User) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, errBadForm)
		return
	}
	rawURL, events := r.PostFormValue("url"), r.PostForm["events"]
	e, err := h.registerWebhook(r.Context(), u, rawURL, events)
	if err != nil {
		h.formFailed(w, r, err, func(status int, message string) {
			h.renderWebhooks(w, r, u, status, views.WebhooksModel{Error: message, URL: rawURL, Events: events})
		})
		return
	}
	created := views.WebhookEndpoint{ID: e.ID, URL: e.URL, Secret: e.Secret}
	h.renderWebhooks(w, r, u, http.StatusCreated, views.WebhooksModel{Created: &created})
}

// deleteWebhookForm deletes an endpoint from the page.
func (h *Handler) deleteWebhookForm(w http.ResponseWriter, r *http.Request, u store.User) {
	h.webhookAction(w, r, h.Store.DeleteHookEndpoint(r.Context(), u.ID, r.PathValue("id")), "The endpoint was deleted.")
}

// testWebhook queues a test event to an endpoint.
func (h *Handler) testWebhook(w http.ResponseWriter, r *http.Request, u store.User) {
	h.webhookAction(w, r, h.Store.EnqueueTestEvent(r.Context(), u.ID, r.PathValue("id")),
		"A test event is on its way; reload to see how it went.")
}

// redeliverWebhook sends a delivery again, under the same webhook-id.
func (h *Handler) redeliverWebhook(w http.ResponseWriter, r *http.Request, u store.User) {
	id, err := strconv.ParseInt(r.PathValue("delivery"), 10, 64)
	if err != nil {
		err = job.ErrNotFound
	} else {
		err = h.Store.Redeliver(r.Context(), u.ID, id)
	}
	h.webhookAction(w, r, err, "The event will be sent again; reload to see how it went.")
}

// webhookAction ends a form action of the page: back to it with done, or
// the error.
func (h *Handler) webhookAction(w http.ResponseWriter, r *http.Request, err error, done string) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(w, r, done)
	http.Redirect(w, r, "/account/webhooks", http.StatusSeeOther)
}
