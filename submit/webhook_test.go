package submit

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
	"scribe/store"
	"scribe/store/storetest"
)

// TestEnsureWebhook registers the endpoint with an upstream that follows
// the contract, across restarts that keep, lose or find lost its secret.
func TestEnsureWebhook(t *testing.T) {
	ctx := context.Background()
	fake := deepscripttest.NewServer(t)
	c := fake.Client()
	db := storetest.Open(t)
	const url = "http://app.example/webhooks/deepscript"
	ensure := func(t *testing.T) (store.WebhookEndpoint, []deepscript.WebhookEndpoint) {
		t.Helper()
		if err := EnsureWebhook(ctx, db, c, url); err != nil {
			t.Fatal(err)
		}
		have, err := db.WebhookEndpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		upstream, err := c.ListWebhooks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(upstream) != 1 || upstream[0].ID != have.ID || have.URL != url || have.Secret == "" {
			t.Fatalf("stored %+v, upstream holds %+v; want the one endpoint, with its secret", have, upstream)
		}
		return have, upstream
	}
	first, _ := ensure(t)
	t.Run("Restart", func(t *testing.T) {
		if again, _ := ensure(t); again != first {
			t.Errorf("endpoint %+v after a restart, want %+v kept", again, first)
		}
	})
	t.Run("SecretLost", func(t *testing.T) {
		if err := db.SetWebhookEndpoint(ctx, store.WebhookEndpoint{}); err != nil {
			t.Fatal(err)
		}
		if again, _ := ensure(t); again.Secret == first.Secret {
			t.Error("the secret was not renewed")
		}
	})
	t.Run("UpstreamLostIt", func(t *testing.T) {
		have, _ := ensure(t)
		if err := c.DeleteWebhook(ctx, have.ID); err != nil {
			t.Fatal(err)
		}
		if again, _ := ensure(t); again.ID == have.ID {
			t.Error("the endpoint the upstream lost was not registered again")
		}
	})
}

// TestEnsureWebhookRewrittenURL: an upstream that stores the endpoint URL
// with a trailing slash still lets us find, delete and re-register it when
// our copy of the secret is lost.
func TestEnsureWebhookRewrittenURL(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	var mu sync.Mutex
	endpoints := map[string]deepscript.WebhookEndpoint{}
	next := 0
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/webhooks", func(w http.ResponseWriter, r *http.Request) {
		var req deepscript.CreateWebhookRequest
		json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		defer mu.Unlock()
		stored := req.URL + "/"
		w.Header().Set("Content-Type", "application/json")
		for _, ep := range endpoints {
			if ep.URL == stored {
				w.WriteHeader(http.StatusConflict)
				json.NewEncoder(w).Encode(deepscript.ErrorResponse{Error: deepscript.ErrorBody{Code: deepscript.CodeConflict}})
				return
			}
		}
		next++
		ep := deepscript.WebhookEndpoint{ID: "we_" + string(rune('a'+next)), URL: stored, Events: req.Events}
		endpoints[ep.ID] = ep
		ep.Secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(ep)
	})
	mux.HandleFunc("GET /v1/webhooks", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var list deepscript.WebhookEndpointList
		for _, ep := range endpoints {
			list.Data = append(list.Data, ep)
		}
		json.NewEncoder(w).Encode(list)
	})
	mux.HandleFunc("DELETE /v1/webhooks/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		delete(endpoints, r.PathValue("id"))
		w.WriteHeader(http.StatusNoContent)
	})
	upstream := httptest.NewServer(mux)
	defer upstream.Close()
	c := deepscript.New(upstream.URL, "key", nil)
	const url = "http://app.example/webhooks/deepscript"

	if err := EnsureWebhook(ctx, db, c, url); err != nil {
		t.Fatalf("first registration: %v", err)
	}
	if err := EnsureWebhook(ctx, db, c, url); err != nil {
		t.Fatalf("second start, secret kept: %v", err)
	}
	if got := len(endpoints); got != 1 {
		t.Fatalf("%d endpoints after a restart, want 1", got)
	}
	ep, err := db.WebhookEndpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ep.Secret = ""
	if err := db.SetWebhookEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	if err := EnsureWebhook(ctx, db, c, url); err != nil {
		t.Fatalf("secret lost: %v", err)
	}
	if got := len(endpoints); got != 1 {
		t.Fatalf("%d endpoints after re-registering, want 1", got)
	}
	if ep, _ := db.WebhookEndpoint(ctx); ep.Secret == "" {
		t.Fatal("no secret stored after re-registering")
	}
}
