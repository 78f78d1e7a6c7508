package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"scribe/store"
)

// twoReplicas opens two stores on one database, as two replicas would.
func twoReplicas(t *testing.T) (*store.Store, *store.Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scribe.db")
	var out [2]*store.Store
	for i := range out {
		s, err := store.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out[0], out[1]
}

// TestSessionKeysFirstWins: the first replica's keys are everyone's.
func TestSessionKeysFirstWins(t *testing.T) {
	ctx := context.Background()
	a, b := twoReplicas(t)
	got, err := a.SessionKeys(ctx, "keys of a")
	if err != nil {
		t.Fatal(err)
	}
	if want := "keys of a"; got != want {
		t.Fatalf("first replica got %q, want its own %q", got, want)
	}
	if got, err = b.SessionKeys(ctx, "keys of b"); err != nil {
		t.Fatal(err)
	}
	if want := "keys of a"; got != want {
		t.Fatalf("second replica got %q, want the first's %q", got, want)
	}
}

// TestWebhookEndpointReload: a replica's copy of the endpoint is replaced
// by what another replica registered once it reloads.
func TestWebhookEndpointReload(t *testing.T) {
	ctx := context.Background()
	a, b := twoReplicas(t)
	if err := a.SetWebhookEndpoint(ctx, store.WebhookEndpoint{ID: "ep_1", URL: "http://x/webhooks", Secret: "whsec_old"}); err != nil {
		t.Fatal(err)
	}
	if e, err := a.WebhookEndpoint(ctx); err != nil || e.Secret != "whsec_old" {
		t.Fatalf("endpoint %+v, %v; want the one just set", e, err)
	}
	if err := b.SetWebhookEndpoint(ctx, store.WebhookEndpoint{ID: "ep_2", URL: "http://x/webhooks", Secret: "whsec_new"}); err != nil {
		t.Fatal(err)
	}
	e, err := a.ReloadWebhookEndpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e, (store.WebhookEndpoint{ID: "ep_2", URL: "http://x/webhooks", Secret: "whsec_new"}); got != want {
		t.Fatalf("reloaded %+v, want %+v", got, want)
	}
	if e, _ := a.WebhookEndpoint(ctx); e.Secret != "whsec_new" {
		t.Errorf("after the reload the kept copy is %+v", e)
	}
}
