package handlers

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"scribe/job"
	"scribe/store"
	"scribe/store/storetest"
)

// bearer sends a request with an API token and no cookie.
func bearer(h *Handler, method, path, token string, body io.Reader) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.Routes().ServeHTTP(rec, req)
	return rec
}

// makeToken creates a token through POST /api/tokens as a signed-in user.
func makeToken(t *testing.T, h *Handler, cookie *http.Cookie, name string) apiTokenJSON {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/tokens", strings.NewReader(`{"name":"`+name+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	rec := serve(h, req, cookie)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST /api/tokens: %d %s", rec.Code, rec.Body)
	}
	var tok apiTokenJSON
	if err := json.NewDecoder(rec.Body).Decode(&tok); err != nil || tok.ID == "" || tok.Name != name || !strings.HasPrefix(tok.Token, store.TokenPrefix) {
		t.Fatalf("created %+v, %v", tok, err)
	}
	return tok
}

func TestAPITokens(t *testing.T) {
	ctx := context.Background()
	h := newTestHandler(t, unreachable())
	ada := storetest.User(t, h.Store, "ada@example.com")
	grace := storetest.User(t, h.Store, "grace@example.com")
	adaCookie := signedIn(t, h, ada)
	tok := makeToken(t, h, adaCookie, "laptop")
	graceTok := makeToken(t, h, signedIn(t, h, grace), "grace's")
	storetest.SubmittedJob(t, h.Store, ada, "j_ada", "tr_1")
	if _, _, err := h.Store.ApplyUpdate(ctx, job.Update{UpstreamID: "tr_1", Status: job.StatusCompleted,
		Result: &job.Result{Text: "secret words", Segments: []job.Segment{{Start: 0, End: 1, Text: "secret words"}}}, Via: job.ViaWebhook}); err != nil {
		t.Fatal(err)
	}

	t.Run("JobRoutes", func(t *testing.T) {
		for route, want := range map[string]int{
			"GET /jobs/j_ada":                            http.StatusOK,
			"GET /jobs/j_ada/transcript.txt":             http.StatusOK,
			"GET /jobs/j_ada/transcript.json":            http.StatusOK,
			"GET /jobs/j_ada/revisions":                  http.StatusOK,
			"GET /jobs/j_ada/audio":                      http.StatusOK,
			"GET /jobs/j_ada/transcript.srt":             http.StatusOK,
			"GET /jobs/nope":                             http.StatusNotFound,
			"POST /jobs/j_ada/delete":                    http.StatusForbidden, // a page's form
			"GET /account":                               http.StatusForbidden,
			"POST /account/password":                     http.StatusForbidden,
			"GET /api/tokens":                            http.StatusForbidden,
			"POST /api/tokens":                           http.StatusForbidden,
			"DELETE /api/tokens/" + graceTok.ID:          http.StatusForbidden,
			"POST /admin/invitations":                    http.StatusForbidden,
			"POST /account/tokens/" + tok.ID + "/revoke": http.StatusForbidden,
		} {
			method, path, _ := strings.Cut(route, " ")
			rec := bearer(h, method, path, tok.Token, nil)
			if rec.Code != want {
				t.Errorf("%s with a token: %d, want %d: %.200s", route, rec.Code, want, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); rec.Code >= 400 && ct != "application/json" {
				t.Errorf("%s: error as %q, want JSON", route, ct)
			}
		}
		rec := bearer(h, "GET", "/jobs/j_ada", tok.Token, nil)
		var j jobJSON
		if err := json.NewDecoder(rec.Body).Decode(&j); err != nil || j.ID != "j_ada" || j.Status != "completed" {
			t.Fatalf("GET /jobs/j_ada with a token: %+v %v", j, err)
		}
	})
	t.Run("OtherUsersJob", func(t *testing.T) {
		for _, route := range []string{"GET /jobs/j_ada", "GET /jobs/j_ada/events", "GET /jobs/j_ada/transcript.txt",
			"GET /jobs/j_ada/audio", "PUT /jobs/j_ada/transcript.json", "DELETE /jobs/j_ada", "GET /jobs/j_ada/revisions"} {
			method, path, _ := strings.Cut(route, " ")
			rec := bearer(h, method, path, graceTok.Token, nil)
			if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "secret words") {
				t.Errorf("%s with another user's token: %d %.200s, want 404", route, rec.Code, rec.Body)
			}
		}
	})
	t.Run("Upload", func(t *testing.T) {
		ctype, body := multipartFiles(t, [2]string{"a.wav", "RIFF"}, [2]string{"b.wav", "RIFF"})
		req := httptest.NewRequest("POST", "/jobs", body)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		rec := serve(h, req, nil)
		var got struct{ Jobs []jobJSON }
		if err := json.NewDecoder(rec.Body).Decode(&got); rec.Code != http.StatusCreated || err != nil || len(got.Jobs) != 2 {
			t.Fatalf("upload with a token: %d %+v %v", rec.Code, got, err)
		}
		if _, err := h.Store.Job(ctx, ada.ID, got.Jobs[0].ID); err != nil {
			t.Fatalf("the upload is not ada's: %v", err)
		}
	})
	t.Run("BadTokens", func(t *testing.T) {
		for name, token := range map[string]string{"Unknown": store.TokenPrefix + "AAAA", "Empty": "", "NoPrefix": strings.TrimPrefix(tok.Token, store.TokenPrefix)} {
			rec := bearer(h, "GET", "/jobs/j_ada", token, nil)
			var body map[string]string
			json.NewDecoder(rec.Body).Decode(&body)
			if rec.Code != http.StatusUnauthorized || body["error"] == "" || rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%s: %d %v, want 401 with a JSON error and WWW-Authenticate", name, rec.Code, body)
			}
		}
	})
	t.Run("CookieIgnoredWithToken", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/jobs/j_ada", nil)
		req.Header.Set("Authorization", "Bearer "+graceTok.Token)
		if rec := serve(h, req, adaCookie); rec.Code != http.StatusNotFound {
			t.Fatalf("grace's token with ada's cookie: %d, want 404 (the token decides)", rec.Code)
		}
	})
	t.Run("Listed", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/api/tokens", nil)
		req.Header.Set("Accept", "application/json")
		rec := serve(h, req, adaCookie)
		if strings.Contains(rec.Body.String(), tok.Token) {
			t.Fatal("the list shows the secret")
		}
		var got struct{ Tokens []apiTokenJSON }
		if err := json.NewDecoder(rec.Body).Decode(&got); err != nil || len(got.Tokens) != 1 || got.Tokens[0].ID != tok.ID || got.Tokens[0].LastUsedAt == nil {
			t.Fatalf("list %+v %v, want the one token, used", got, err)
		}
	})
	t.Run("CrossOrigin", func(t *testing.T) {
		// A script sends no Origin or Sec-Fetch-Site; a browser's
		// cross-site request with the session cookie is refused.
		if rec := bearer(h, "DELETE", "/jobs/nope", tok.Token, nil); rec.Code != http.StatusNotFound {
			t.Fatalf("DELETE with a token: %d, want 404 (past cross-origin protection)", rec.Code)
		}
		req := httptest.NewRequest("POST", "/api/tokens", strings.NewReader("name=evil"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if rec := serve(h, req, adaCookie); rec.Code != http.StatusForbidden {
			t.Fatalf("cross-site POST with the cookie: %d, want 403", rec.Code)
		}
	})
	t.Run("PageMakesAndRevokes", func(t *testing.T) {
		rec := send(h.Routes(), "POST", "/api/tokens", url.Values{"name": {"from the page"}}, "192.0.2.1", adaCookie)
		if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `data-testid="new-token-secret"`) {
			t.Fatalf("form POST: %d %.300s", rec.Code, rec.Body)
		}
		list, _ := h.Store.APITokens(ctx, ada.ID)
		rec = send(h.Routes(), "POST", "/account/tokens/"+list[0].ID+"/revoke", url.Values{}, "192.0.2.1", adaCookie)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("revoke form: %d", rec.Code)
		}
		rec = send(h.Routes(), "GET", "/account/tokens", nil, "192.0.2.1", adaCookie)
		if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "from the page") || !strings.Contains(rec.Body.String(), "laptop") {
			t.Fatalf("tokens page after revoking: %d %.300s", rec.Code, rec.Body)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if rec := bearer(h, "DELETE", "/jobs/j_ada", tok.Token, nil); rec.Code != http.StatusNoContent {
			t.Fatalf("DELETE /jobs/j_ada: %d %s", rec.Code, rec.Body)
		}
		if rec := bearer(h, "GET", "/jobs/j_ada", tok.Token, nil); rec.Code != http.StatusNotFound {
			t.Fatalf("GET after DELETE: %d, want 404", rec.Code)
		}
	})
	t.Run("Revoked", func(t *testing.T) {
		req := httptest.NewRequest("DELETE", "/api/tokens/"+tok.ID, nil)
		if rec := serve(h, req, signedIn(t, h, grace)); rec.Code != http.StatusNotFound {
			t.Fatalf("grace revoking ada's token: %d, want 404", rec.Code)
		}
		if rec := serve(h, httptest.NewRequest("DELETE", "/api/tokens/"+tok.ID, nil), adaCookie); rec.Code != http.StatusNoContent {
			t.Fatalf("DELETE /api/tokens/{id}: %d, want 204", rec.Code)
		}
		if rec := bearer(h, "GET", "/jobs/j_ada", tok.Token, nil); rec.Code != http.StatusUnauthorized {
			t.Fatalf("revoked token: %d, want 401", rec.Code)
		}
	})
	t.Run("DisabledAccount", func(t *testing.T) {
		if err := h.Store.SetDisabled(ctx, grace.ID, true); err != nil {
			t.Fatal(err)
		}
		if rec := bearer(h, "GET", "/jobs/j_ada", graceTok.Token, nil); rec.Code != http.StatusUnauthorized {
			t.Fatalf("a disabled account's token: %d, want 401", rec.Code)
		}
	})
}

// TestBadTokensThrottled checks that an address sending bad tokens is
// made to wait, and that others are not.
func TestBadTokensThrottled(t *testing.T) {
	h := newTestHandler(t, unreachable())
	withClock(h)
	routes := h.Routes()
	try := func(addr, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/jobs/j_1", nil)
		req.RemoteAddr = addr + ":1234"
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		routes.ServeHTTP(rec, req)
		return rec
	}
	for range tokenFreeFailures {
		if rec := try("192.0.2.1", "scribe_wrong"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("a free failure: %d, want 401", rec.Code)
		}
	}
	try("192.0.2.1", "scribe_wrong")
	rec := try("192.0.2.1", "scribe_wrong")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("past the free failures: %d, want 429 with Retry-After", rec.Code)
	}
	if rec := try("192.0.2.2", "scribe_wrong"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("another address: %d, want 401", rec.Code)
	}
}
