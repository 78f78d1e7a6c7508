package submit

import (
	"context"
	"fmt"
	neturl "net/url"
	"strings"

	"scribe/deepscript"
	"scribe/store"
)

// WebhookEvents are the events scribe asks the upstream to deliver.
var WebhookEvents = []string{deepscript.EventCompleted, deepscript.EventFailed, deepscript.EventBalanceLow}

// EnsureWebhook makes sure the upstream has an endpoint for url whose
// secret the store holds. On 409 (registered, but the secret is lost, say
// after a new data dir) it deletes the old endpoint and registers again.
// Replicas take turns, so one does not replace the endpoint another has
// just registered.
func EnsureWebhook(ctx context.Context, s *store.Store, c *deepscript.Client, url string) error {
	return s.Exclusive(ctx, "webhook-registration", func() error { return ensureWebhook(ctx, s, c, url) })
}

func ensureWebhook(ctx context.Context, s *store.Store, c *deepscript.Client, url string) error {
	have, err := s.ReloadWebhookEndpoint(ctx) // another replica may have registered it
	if err != nil {
		return err
	}
	if have.URL == url && have.Secret != "" {
		// Check the upstream still has it: its data may have been reset.
		eps, err := c.ListWebhooks(ctx)
		if err != nil {
			return fmt.Errorf("submit: unable to list webhook endpoints: %w", err)
		}
		for _, ep := range eps {
			if sameURL(ep.URL, url) {
				return nil
			}
		}
	}
	ep, err := c.CreateWebhook(ctx, url, WebhookEvents)
	if deepscript.IsConflict(err) {
		if err = deleteEndpoint(ctx, c, url); err == nil {
			ep, err = c.CreateWebhook(ctx, url, WebhookEvents)
		}
	}
	if err != nil {
		return fmt.Errorf("submit: unable to register webhook endpoint %s: %w", url, err)
	}
	return s.SetWebhookEndpoint(ctx, store.WebhookEndpoint{ID: ep.ID, URL: url, Secret: ep.Secret})
}

func deleteEndpoint(ctx context.Context, c *deepscript.Client, url string) error {
	eps, err := c.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	for _, ep := range eps {
		if sameURL(ep.URL, url) {
			if err := c.DeleteWebhook(ctx, ep.ID); err != nil && !deepscript.IsNotFound(err) {
				return err
			}
		}
	}
	return nil
}

// sameURL compares endpoint URLs as an upstream may store them: scheme and
// host in any case, with or without a trailing slash.
func sameURL(a, b string) bool {
	norm := func(s string) string {
		u, err := neturl.Parse(s)
		if err != nil {
			return s
		}
		return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + strings.TrimRight(u.Path, "/") + "?" + u.RawQuery
	}
	return norm(a) == norm(b)
}
