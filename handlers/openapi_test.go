package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"scribe/job"
	"scribe/store/storetest"
)

// TestOpenAPI checks the served description against the OpenAPI 3.1
// schema, then real answers of the API against the description.
func TestOpenAPI(t *testing.T) {
	h := newTestHandler(t, unreachable())
	rec := serve(h, httptest.NewRequest("GET", "/api/openapi.json", nil), nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	doc, err := libopenapi.NewDocument(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.GetVersion(); got != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", got)
	}
	if _, err := doc.BuildV3Model(); err != nil {
		t.Fatalf("the description does not build: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, problems := v.ValidateDocument(); !ok {
		for _, p := range problems {
			t.Errorf("the description is not valid OpenAPI 3.1: %s: %s", p.Message, p.Reason)
		}
		t.FailNow()
	}

	ctx := context.Background()
	ada := storetest.User(t, h.Store, "ada@example.com")
	cookie := signedIn(t, h, ada)
	storetest.SubmittedJob(t, h.Store, ada, "j_done", "tr_1")
	if _, _, err := h.Store.ApplyUpdate(ctx, job.Update{UpstreamID: "tr_1", Status: job.StatusCompleted,
		Result: &job.Result{Text: "hello there", Language: "en", Duration: 2, Segments: []job.Segment{{Start: 0, End: 1.5, Text: "hello there",
			Words: []job.Word{{Word: "hello", Start: 0, End: 0.5, Confidence: 0.9}, {Word: "there", Start: 0.6, End: 1.5, Confidence: 0.8}}}}},
		Via: job.ViaWebhook}); err != nil {
		t.Fatal(err)
	}
	// check sends req and validates the answer against the description.
	check := func(req *http.Request, cookieToo bool, want int) *httptest.ResponseRecorder {
		t.Helper()
		c := cookie
		if !cookieToo {
			c = nil
		}
		rec := serve(h, req, c)
		if rec.Code != want {
			t.Fatalf("%s %s: %d, want %d: %.300s", req.Method, req.URL.Path, rec.Code, want, rec.Body)
		}
		if ok, problems := v.ValidateHttpResponse(req, rec.Result()); !ok {
			for _, p := range problems {
				t.Errorf("%s %s answers what the description does not allow: %s: %s", req.Method, req.URL.Path, p.Message, p.Reason)
			}
		}
		return rec
	}
	req := httptest.NewRequest("POST", "/api/tokens", strings.NewReader(`{"name":"openapi"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	var tok apiTokenJSON
	json.NewDecoder(check(req, true, http.StatusCreated).Body).Decode(&tok)
	withToken := func(method, path string) *http.Request {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		return req
	}
	check(withToken("GET", "/jobs/j_done"), false, http.StatusOK)
	check(withToken("GET", "/jobs/j_done/transcript.json"), false, http.StatusOK)
	check(withToken("GET", "/jobs/j_done/revisions"), false, http.StatusOK)
	check(withToken("GET", "/jobs/nope"), false, http.StatusNotFound)
	ctype, body := multipartFiles(t, [2]string{"a.wav", "RIFF"})
	req = httptest.NewRequest("POST", "/jobs", body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	check(req, false, http.StatusCreated)
	check(withToken("DELETE", "/jobs/j_done"), false, http.StatusNoContent)
	req = httptest.NewRequest("GET", "/api/tokens", nil)
	req.Header.Set("Accept", "application/json")
	check(req, true, http.StatusOK)
	req = httptest.NewRequest("GET", "/jobs/j_done", nil)
	req.Header.Set("Authorization", "Bearer scribe_nope")
	check(req, false, http.StatusUnauthorized)
	check(httptest.NewRequest("DELETE", "/api/tokens/"+tok.ID, nil), true, http.StatusNoContent)
}
