package deepscript

import (
	"context"
	"errors"
	"net/http"
)

// CreateWebhook registers url to receive the given event types
// (POST /v1/webhooks). The answer's Secret is shown only this once: keep it
// to verify deliveries. An already registered URL is a conflict (IsConflict).
func (c *Client) CreateWebhook(ctx context.Context, url string, events []string) (*WebhookEndpoint, error) {
	if url == "" {
		return nil, errors.New("deepscript: create webhook: empty url")
	}
	var e WebhookEndpoint
	in := CreateWebhookRequest{URL: url, Events: events}
	if err := c.doJSON(ctx, http.MethodPost, c.endpoint("webhooks"), in, &e, maxJSONBody); err != nil {
		return nil, err
	}
	return &e, nil
}

// ListWebhooks returns the registered endpoints, without secrets
// (GET /v1/webhooks).
func (c *Client) ListWebhooks(ctx context.Context) ([]WebhookEndpoint, error) {
	var l WebhookEndpointList
	if err := c.doJSON(ctx, http.MethodGet, c.endpoint("webhooks"), nil, &l, maxJSONBody); err != nil {
		return nil, err
	}
	return l.Data, nil
}

// DeleteWebhook removes an endpoint (DELETE /v1/webhooks/{id}).
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("deepscript: delete webhook: empty id")
	}
	return c.doJSON(ctx, http.MethodDelete, c.endpoint("webhooks", id), nil, nil, 0)
}
