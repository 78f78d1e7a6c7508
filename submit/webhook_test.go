package submit

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"scribe/deepscript"
	"scribe/store"
)

// TestEnsureWebhookRewrittenURL: an upstream that stores the endpoint URL
// with a trailing slash still lets us find, delete and re-register it when
// our copy of the secret is lost.
func TestEnsureWebhookRewrittenURL(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "scribe.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
