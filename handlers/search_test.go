package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"scribe/job"
	"scribe/store"
	"scribe/store/storetest"
)

// completedWith makes a completed job of u's with one segment per line,
// 10 s apart.
func completedWith(t *testing.T, h *Handler, u store.User, id string, lines ...string) {
	t.Helper()
	storetest.SubmittedJob(t, h.Store, u, id, "up-"+id)
	r := &job.Result{Text: strings.Join(lines, " ")}
	for i, l := range lines {
		r.Segments = append(r.Segments, job.Segment{Start: float64(i) * 10, End: float64(i)*10 + 9, Text: l})
	}
	if _, _, err := h.Store.ApplyUpdate(context.Background(), job.Update{UpstreamID: "up-" + id, Status: job.StatusCompleted,
		Result: r, Via: job.ViaWebhook}); err != nil {
		t.Fatal(err)
	}
}

type searchAnswer struct {
	Results []struct {
		JobID    string  `json:"job_id"`
		Filename string  `json:"filename"`
		Snippet  string  `json:"snippet"`
		Start    float64 `json:"start"`
	} `json:"results"`
	Next *string `json:"next"`
}

func searchJSON(t *testing.T, h *Handler, cookie *http.Cookie, path string) (searchAnswer, *httptest.ResponseRecorder) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Accept", "application/json")
	rec := serve(h, req, cookie)
	var out searchAnswer
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s: %v in %s", path, err, rec.Body)
		}
	}
	return out, rec
}

func TestSearchRoute(t *testing.T) {
	h := newTestHandler(t, unreachable())
	ada, grace := storetest.User(t, h.Store, "ada@example.com"), storetest.User(t, h.Store, "grace@example.com")
	completedWith(t, h, ada, "j_a", "hello there", "the <b>launch</b> plan & the launch date", "goodbye")
	completedWith(t, h, grace, "j_g", "grace's launch notes")
	adaCookie, graceCookie := signedIn(t, h, ada), signedIn(t, h, grace)

	t.Run("JSON", func(t *testing.T) {
		out, rec := searchJSON(t, h, adaCookie, "/search?q=launch")
		if rec.Code != http.StatusOK || len(out.Results) != 1 {
			t.Fatalf("status %d, %s", rec.Code, rec.Body)
		}
		r := out.Results[0]
		if r.JobID != "j_a" || r.Filename != "j_a.wav" || r.Start != 10 || r.Snippet != "the <b>launch</b> plan & the launch date" || out.Next != nil {
			t.Fatalf("answer %s", rec.Body)
		}
		if !strings.Contains(rec.Body.String(), `"next":null`) {
			t.Errorf("next is not null: %s", rec.Body)
		}
	})
	t.Run("OtherUsers", func(t *testing.T) {
		out, _ := searchJSON(t, h, graceCookie, "/search?q=launch")
		if len(out.Results) != 1 || out.Results[0].JobID != "j_g" {
			t.Fatalf("grace got %+v", out.Results)
		}
		if out, _ := searchJSON(t, h, graceCookie, "/search?q=goodbye"); len(out.Results) != 0 {
			t.Fatalf("grace found ada's job: %+v", out.Results)
		}
	})
	t.Run("SignedOut", func(t *testing.T) {
		if _, rec := searchJSON(t, h, nil, "/search?q=launch"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("status %d", rec.Code)
		}
	})
	t.Run("BadQueries", func(t *testing.T) {
		for _, q := range []string{"", `"`, "*", "a*", strings.Repeat("x ", 150), `launch" OR "x`} {
			_, rec := searchJSON(t, h, adaCookie, "/search?q="+url.QueryEscape(q))
			if q == `launch" OR "x` {
				if rec.Code != http.StatusOK {
					t.Errorf("%q: status %d, want 200 (quotes are phrases)", q, rec.Code)
				}
				continue
			}
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"error"`) {
				t.Errorf("%q: status %d %s, want 400 with a message", q, rec.Code, rec.Body)
			}
		}
		for _, page := range []string{"0", "-1", "x", "51"} {
			if _, rec := searchJSON(t, h, adaCookie, "/search?q=launch&page="+page); rec.Code != http.StatusBadRequest {
				t.Errorf("page %s: status %d, want 400", page, rec.Code)
			}
		}
	})
	t.Run("Page", func(t *testing.T) {
		rec := serve(h, httptest.NewRequest("GET", "/search?q=launch", nil), adaCookie)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		doc, err := goquery.NewDocumentFromReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		res := doc.Find(`[data-testid="search-result"]`)
		if res.Length() != 1 {
			t.Fatalf("%d results", res.Length())
		}
		if href, _ := res.Find(`[data-testid="search-result-link"]`).Attr("href"); href != "/jobs/j_a#t=10" {
			t.Errorf("link %q", href)
		}
		snippet := res.Find(`[data-testid="search-snippet"]`)
		if snippet.Find("b").Length() != 0 {
			t.Error("transcript text became markup")
		}
		if got := snippet.Find("mark").Length(); got != 2 {
			t.Errorf("%d marks, want 2", got)
		}
		if html, _ := snippet.Html(); !strings.Contains(html, "&lt;b&gt;<mark>launch</mark>&lt;/b&gt; plan &amp; the <mark>launch</mark> date") {
			t.Errorf("snippet %s", html)
		}
		if v, _ := doc.Find(`[data-testid="search-input"]`).Attr("value"); v != "launch" {
			t.Errorf("header box says %q", v)
		}
	})
	t.Run("PageRefusesQuery", func(t *testing.T) {
		rec := serve(h, httptest.NewRequest("GET", "/search?q=*", nil), adaCookie)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `data-testid="search-error"`) {
			t.Fatalf("status %d", rec.Code)
		}
	})
	t.Run("EmptyPage", func(t *testing.T) {
		if rec := serve(h, httptest.NewRequest("GET", "/search", nil), adaCookie); rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
	})
}

func TestSearchPagination(t *testing.T) {
	h := newTestHandler(t, unreachable())
	ada := storetest.User(t, h.Store, "ada@example.com")
	for i := range searchPageSize + 5 {
		completedWith(t, h, ada, "j_"+strings.Repeat("x", i+1), "a memo about the roadmap")
	}
	cookie := signedIn(t, h, ada)
	first, _ := searchJSON(t, h, cookie, "/search?q=roadmap")
	if len(first.Results) != searchPageSize || first.Next == nil {
		t.Fatalf("first page: %d results, next %v", len(first.Results), first.Next)
	}
	second, rec := searchJSON(t, h, cookie, *first.Next)
	if rec.Code != http.StatusOK || len(second.Results) != 5 || second.Next != nil {
		t.Fatalf("second page (%s): %d results, next %v", *first.Next, len(second.Results), second.Next)
	}
	seen := map[string]bool{}
	for _, r := range append(first.Results, second.Results...) {
		if seen[r.JobID] {
			t.Fatalf("%s twice", r.JobID)
		}
		seen[r.JobID] = true
	}
}
