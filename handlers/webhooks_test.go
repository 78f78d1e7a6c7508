package handlers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"scribe/job"
	"scribe/store/storetest"
)

func TestWebhookAPI(t *testing.T) {
	h := newTestHandler(t, unreachable())
	alice, bob := storetest.User(t, h.Store, "alice@example.com"), storetest.User(t, h.Store, "bob@example.com")
	aliceCookie, bobCookie := signedIn(t, h, alice), signedIn(t, h, bob)
	post := func(cookie *http.Cookie, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/webhooks", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		return serve(h, req, cookie)
	}
	var created webhookJSON
	t.Run("Created", func(t *testing.T) {
		rec := post(aliceCookie, `{"url":"https://hooks.example.com/scribe","events":["job.completed","job.failed","job.completed"]}`)
		if got, want := rec.Code, http.StatusCreated; got != want {
			t.Fatalf("status %d, want %d: %s", got, want, rec.Body)
		}
		var raw map[string]any
		json.Unmarshal(rec.Body.Bytes(), &raw)
		for _, k := range []string{"id", "url", "events", "secret"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("answer has no %q: %s", k, rec.Body)
			}
		}
		json.Unmarshal(rec.Body.Bytes(), &created)
		if got, want := strings.Join(eventNames(created.Events), ","), "job.completed,job.failed"; got != want {
			t.Errorf("events %s, want %s", got, want)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(created.Secret, "whsec_"))
		if !strings.HasPrefix(created.Secret, "whsec_") || err != nil || len(key) < 24 {
			t.Errorf("secret %q: want whsec_ and base64 of at least 24 bytes", created.Secret)
		}
		if _, err := standardwebhooks.NewWebhook(created.Secret); err != nil {
			t.Errorf("the Standard Webhooks library refuses the secret: %v", err)
		}
	})
	t.Run("DefaultEvents", func(t *testing.T) {
		rec := post(aliceCookie, `{"url":"https://hooks.example.com/other"}`)
		var e webhookJSON
		json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != http.StatusCreated || strings.Join(eventNames(e.Events), ",") != "job.completed,job.failed" {
			t.Errorf("status %d, events %v; want 201 with job.completed and job.failed", rec.Code, e.Events)
		}
	})
	for name, tc := range map[string]struct {
		body string
		want int
	}{
		"PublicHTTP":    {`{"url":"http://hooks.example.com/scribe"}`, http.StatusBadRequest},
		"Loopback":      {`{"url":"http://127.0.0.1:9000/x"}`, http.StatusBadRequest},
		"MetadataHost":  {`{"url":"https://169.254.169.254/"}`, http.StatusBadRequest},
		"UnknownEvent":  {`{"url":"https://hooks.example.com/","events":["job.deleted"]}`, http.StatusBadRequest},
		"NotJSON":       {`url=https://hooks.example.com/`, http.StatusBadRequest},
		"WrongJSONType": {`{"url":42}`, http.StatusBadRequest},
		"TooLarge":      {`{"url":"https://hooks.example.com/` + strings.Repeat("a", maxWebhookJSONBytes) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			rec := post(aliceCookie, tc.body)
			if got := rec.Code; got != tc.want {
				t.Fatalf("status %d, want %d: %s", got, tc.want, rec.Body)
			}
			var e struct{ Error string }
			if json.Unmarshal(rec.Body.Bytes(), &e); e.Error == "" {
				t.Errorf("no error message: %s", rec.Body)
			}
		})
	}
	t.Run("LoopbackAllowedWhenConfigured", func(t *testing.T) {
		h.cfg.WebhookAllowPrivate = true
		defer func() { h.cfg.WebhookAllowPrivate = false }()
		if rec := post(bobCookie, `{"url":"http://127.0.0.1:9000/x"}`); rec.Code != http.StatusCreated {
			t.Errorf("status %d, want 201: %s", rec.Code, rec.Body)
		}
	})
	t.Run("SignedOut", func(t *testing.T) {
		if rec := post(nil, `{"url":"https://hooks.example.com/"}`); rec.Code != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", rec.Code)
		}
	})
	t.Run("CrossOrigin", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/api/webhooks", strings.NewReader(`{"url":"https://evil.example/"}`))
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if rec := serve(h, req, aliceCookie); rec.Code != http.StatusForbidden {
			t.Errorf("status %d, want 403", rec.Code)
		}
	})
	t.Run("ListedWithoutSecret", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/api/webhooks", nil)
		req.Header.Set("Accept", "application/json")
		rec := serve(h, req, aliceCookie)
		if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "secret") || strings.Contains(rec.Body.String(), created.Secret) {
			t.Fatalf("status %d, body %s; want 200 without secrets", rec.Code, rec.Body)
		}
		var list struct{ Webhooks []webhookJSON }
		json.Unmarshal(rec.Body.Bytes(), &list)
		if len(list.Webhooks) != 2 || list.Webhooks[0].ID != created.ID || list.Webhooks[0].URL != "https://hooks.example.com/scribe" {
			t.Errorf("listed %+v, want alice's two endpoints, the first registered first", list.Webhooks)
		}
	})
	del := func(cookie *http.Cookie, id string) int {
		return serve(h, httptest.NewRequest("DELETE", "/api/webhooks/"+url.PathEscape(id), nil), cookie).Code
	}
	t.Run("OtherUsersEndpoint", func(t *testing.T) {
		if got, want := del(bobCookie, created.ID), http.StatusNotFound; got != want {
			t.Errorf("bob deleting alice's endpoint: %d, want %d", got, want)
		}
	})
	t.Run("Deleted", func(t *testing.T) {
		if got, want := del(aliceCookie, created.ID), http.StatusNoContent; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
		if got, want := del(aliceCookie, created.ID), http.StatusNotFound; got != want {
			t.Errorf("deleting again: %d, want %d", got, want)
		}
	})
}

func eventNames(events []job.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, string(e))
	}
	return out
}

// TestWebhooksPage drives the page without JavaScript: register (the
// secret shown once), a refused URL, a test event, redelivery, delete.
func TestWebhooksPage(t *testing.T) {
	h := newTestHandler(t, unreachable())
	alice, bob := storetest.User(t, h.Store, "alice@example.com"), storetest.User(t, h.Store, "bob@example.com")
	cookie := signedIn(t, h, alice)
	postForm := func(path string, form url.Values, cookie *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return serve(h, req, cookie)
	}
	page := func() *goquery.Document {
		t.Helper()
		rec := serve(h, httptest.NewRequest("GET", "/account/webhooks", nil), cookie)
		if rec.Code != http.StatusOK {
			t.Fatalf("page: status %d", rec.Code)
		}
		doc, err := goquery.NewDocumentFromReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}

	rec := postForm("/account/webhooks", url.Values{"url": {"https://hooks.example.com/a"}, "events": {"job.completed", "job.progress"}}, cookie)
	if rec.Code != http.StatusCreated {
		t.Fatalf("register: status %d", rec.Code)
	}
	doc, _ := goquery.NewDocumentFromReader(rec.Body)
	secret, _ := doc.Find(`[data-testid="new-webhook-secret"]`).Attr("value")
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret shown after registering: %q", secret)
	}
	doc = page()
	if strings.Contains(doc.Text(), secret) || doc.Find(`[data-testid="new-webhook-secret"]`).Length() != 0 {
		t.Error("the secret is shown again")
	}
	if got := doc.Find(`[data-testid="webhook-endpoint-url"]`).Text(); got != "https://hooks.example.com/a" {
		t.Errorf("endpoint listed as %q", got)
	}
	endpoints, _ := h.Store.HookEndpoints(context.Background(), alice.ID)
	id := endpoints[0].ID

	t.Run("Refused", func(t *testing.T) {
		rec := postForm("/account/webhooks", url.Values{"url": {"http://hooks.example.com/b"}, "events": {"job.failed"}}, cookie)
		doc, _ := goquery.NewDocumentFromReader(rec.Body)
		if rec.Code != http.StatusBadRequest || doc.Find(`[data-testid="form-error"]`).Length() != 1 {
			t.Errorf("status %d, want 400 with the form's error", rec.Code)
		}
		if v, _ := doc.Find(`[data-testid="webhook-url"]`).Attr("value"); v != "http://hooks.example.com/b" {
			t.Errorf("URL echoed as %q", v)
		}
		if _, checked := doc.Find(`[data-testid="webhook-event-job.failed"]`).Attr("checked"); !checked {
			t.Error("the ticked event is not ticked again")
		}
	})
	t.Run("TestEvent", func(t *testing.T) {
		if rec := postForm("/account/webhooks/"+id+"/test", nil, cookie); rec.Code != http.StatusSeeOther {
			t.Fatalf("status %d, want 303", rec.Code)
		}
		row := page().Find(`[data-testid^="delivery-"]`).First()
		if !strings.Contains(row.Text(), "webhook.test") || !strings.Contains(row.Find(`[data-testid="delivery-state"]`).Text(), "pending") {
			t.Errorf("delivery row: %q", strings.Join(strings.Fields(row.Text()), " "))
		}
		if got := postForm("/account/webhooks/"+id+"/test", nil, signedIn(t, h, bob)).Code; got != http.StatusNotFound {
			t.Errorf("bob's test event to alice's endpoint: %d, want 404", got)
		}
	})
	t.Run("Redeliver", func(t *testing.T) {
		ds, _ := h.Store.HookDeliveries(context.Background(), alice.ID, id, 10)
		path := "/account/webhooks/deliveries/" + strconv.FormatInt(ds[0].ID, 10) + "/redeliver"
		if got := postForm(path, nil, signedIn(t, h, bob)).Code; got != http.StatusNotFound {
			t.Errorf("bob redelivering alice's delivery: %d, want 404", got)
		}
		if got := postForm(path, nil, cookie).Code; got != http.StatusSeeOther {
			t.Errorf("redeliver: %d, want 303", got)
		}
		if got := postForm("/account/webhooks/deliveries/x/redeliver", nil, cookie).Code; got != http.StatusNotFound {
			t.Errorf("redeliver a malformed id: %d, want 404", got)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if rec := postForm("/account/webhooks/"+id+"/delete", nil, cookie); rec.Code != http.StatusSeeOther {
			t.Fatalf("status %d, want 303", rec.Code)
		}
		if page().Find(`[data-testid="no-webhooks"]`).Length() != 1 {
			t.Error("the endpoint is still listed")
		}
	})
}
