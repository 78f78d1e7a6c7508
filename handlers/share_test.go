package handlers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"scribe/store/storetest"
)

type shareAnswer struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// share makes a link to id as cookie's user, with body as JSON when not empty.
func share(t *testing.T, h *Handler, cookie *http.Cookie, id, body string) (shareAnswer, *httptest.ResponseRecorder) {
	t.Helper()
	req := httptest.NewRequest("POST", "/jobs/"+id+"/share", strings.NewReader(body))
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := serve(h, req, cookie)
	var out shareAnswer
	if rec.Code == http.StatusCreated {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
	}
	return out, rec
}

// sharedPath is the path of a share link's URL, plus suffix.
func sharedPath(t *testing.T, link, suffix string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path + suffix
}

func TestShareLinks(t *testing.T) {
	h := newTestHandler(t, unreachable())
	h.cfg.PublicURL = "https://scribe.example"
	ada := storetest.User(t, h.Store, "ada@example.com")
	completedWith(t, h, ada, "j_a", "hello there", "the shared words")
	storetest.QueuedJob(t, h.Store, ada, "j_q")
	owner := signedIn(t, h, ada)

	link, rec := share(t, h, owner, "j_a", "")
	if rec.Code != http.StatusCreated {
		t.Fatalf("share: status %d %s", rec.Code, rec.Body)
	}
	if !strings.HasPrefix(link.URL, "https://scribe.example/shared/") || len(sharedPath(t, link.URL, "")) < len("/shared/")+32 {
		t.Fatalf("url %q", link.URL)
	}
	if want := h.Store.Now().Add(30 * 24 * time.Hour); link.ExpiresAt.Sub(want).Abs() > time.Minute {
		t.Errorf("expires %v, want about %v (the default)", link.ExpiresAt, want)
	}

	t.Run("WorksWithoutSession", func(t *testing.T) {
		rec := serve(h, httptest.NewRequest("GET", sharedPath(t, link.URL, ""), nil), nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		if got := rec.Header().Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("Referrer-Policy %q", got)
		}
		doc, err := goquery.NewDocumentFromReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		if got := doc.Find(`[data-testid="segment"]`).Length(); got != 2 {
			t.Errorf("%d segments", got)
		}
		for _, owner := range []string{"segment-edit", "edit-transcript", "editor", "revisions-link", "share", "delete", "retry", "user-email"} {
			if doc.Find(`[data-testid="`+owner+`"]`).Length() != 0 {
				t.Errorf("the shared page has %s", owner)
			}
		}
		doc.Find("a[href], audio[src], form[action]").Each(func(_ int, s *goquery.Selection) {
			for _, attr := range []string{"href", "src", "action"} {
				if v, ok := s.Attr(attr); ok && strings.HasPrefix(v, "/jobs") {
					t.Errorf("the shared page links to the owner's %s", v)
				}
			}
		})
		src, _ := doc.Find(`[data-testid="player"]`).Attr("src")
		if rec := serve(h, httptest.NewRequest("GET", src, nil), nil); rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), "RIFF") {
			t.Errorf("audio %s: status %d", src, rec.Code)
		}
		href, _ := doc.Find(`[data-testid="download-txt"]`).Attr("href")
		if rec := serve(h, httptest.NewRequest("GET", href, nil), nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "the shared words") {
			t.Errorf("download %s: status %d %s", href, rec.Code, rec.Body)
		}
	})
	t.Run("WrongToken", func(t *testing.T) {
		path := sharedPath(t, link.URL, "")
		wrong := path[:len(path)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(path, "0")]
		for _, p := range []string{wrong, wrong + "/audio", wrong + "/transcript.txt", "/shared/x", path + "/transcript.exe"} {
			if rec := serve(h, httptest.NewRequest("GET", p, nil), nil); rec.Code != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404", p, rec.Code)
			}
		}
	})
	t.Run("OwnerPageShowsLinkOnce", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/jobs/j_a/share", strings.NewReader("expires_in=7"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := serve(h, req, owner)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/jobs/j_a" {
			t.Fatalf("form post: status %d to %q", rec.Code, rec.Header().Get("Location"))
		}
		session := cookieSet(t, rec)
		page := serve(h, httptest.NewRequest("GET", "/jobs/j_a", nil), session)
		doc, err := goquery.NewDocumentFromReader(page.Body)
		if err != nil {
			t.Fatal(err)
		}
		shown, _ := doc.Find(`[data-testid="share-url"]`).Attr("value")
		if !strings.HasPrefix(shown, "https://scribe.example/shared/") || shown == link.URL {
			t.Fatalf("page shows link %q", shown)
		}
		if status := doc.Find(`[data-testid="share-status"]`).Text(); !strings.Contains(status, "works until") {
			t.Errorf("status %q", status)
		}
		// A new link replaces the old one.
		if rec := serve(h, httptest.NewRequest("GET", sharedPath(t, link.URL, ""), nil), nil); rec.Code != http.StatusNotFound {
			t.Errorf("the replaced link: status %d, want 404", rec.Code)
		}
		again := serve(h, httptest.NewRequest("GET", "/jobs/j_a", nil), cookieOr(page, session))
		if strings.Contains(again.Body.String(), `data-testid="share-url"`) {
			t.Error("the link shows a second time")
		}
		link.URL = shown
	})
	t.Run("Revoked", func(t *testing.T) {
		path := sharedPath(t, link.URL, "")
		if rec := serve(h, httptest.NewRequest("GET", path, nil), nil); rec.Code != http.StatusOK {
			t.Fatalf("before: status %d", rec.Code)
		}
		if rec := serve(h, httptest.NewRequest("DELETE", "/jobs/j_a/share", nil), owner); rec.Code != http.StatusNoContent {
			t.Fatalf("revoke: status %d", rec.Code)
		}
		for _, p := range []string{path, path + "/audio", path + "/transcript.json"} {
			if rec := serve(h, httptest.NewRequest("GET", p, nil), nil); rec.Code != http.StatusNotFound {
				t.Errorf("%s after revoking: status %d, want 404", p, rec.Code)
			}
		}
	})
	t.Run("RevokedByForm", func(t *testing.T) {
		l, _ := share(t, h, owner, "j_a", "")
		rec := serve(h, httptest.NewRequest("POST", "/jobs/j_a/share/delete", nil), owner)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("status %d", rec.Code)
		}
		if rec := serve(h, httptest.NewRequest("GET", sharedPath(t, l.URL, ""), nil), nil); rec.Code != http.StatusNotFound {
			t.Errorf("status %d, want 404", rec.Code)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		l, rec := share(t, h, owner, "j_a", `{"expires_in": 1}`)
		if rec.Code != http.StatusCreated {
			t.Fatalf("status %d %s", rec.Code, rec.Body)
		}
		path := sharedPath(t, l.URL, "/transcript.txt")
		if rec := serve(h, httptest.NewRequest("GET", path, nil), nil); rec.Code != http.StatusOK {
			t.Fatalf("fresh: status %d", rec.Code)
		}
		now := h.Store.Now
		t.Cleanup(func() { h.Store.Now = now })
		h.Store.Now = func() time.Time { return now().Add(24*time.Hour + time.Second) }
		if rec := serve(h, httptest.NewRequest("GET", path, nil), nil); rec.Code != http.StatusNotFound {
			t.Errorf("expired: status %d, want 404", rec.Code)
		}
	})
	t.Run("BadRequests", func(t *testing.T) {
		for _, body := range []string{`{"expires_in": 0}`, `{"expires_in": 366}`, `{"expires_in": 1.5}`, `{"expires_in": "x"}`, `not json`} {
			if _, rec := share(t, h, owner, "j_a", body); rec.Code != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", body, rec.Code)
			}
		}
		if _, rec := share(t, h, owner, "j_q", ""); rec.Code != http.StatusConflict {
			t.Errorf("a job without a transcript: status %d, want 409", rec.Code)
		}
		if _, rec := share(t, h, owner, "j_nope", ""); rec.Code != http.StatusNotFound {
			t.Errorf("no such job: status %d, want 404", rec.Code)
		}
		if _, rec := share(t, h, nil, "j_a", ""); rec.Code != http.StatusUnauthorized {
			t.Errorf("signed out: status %d, want 401", rec.Code)
		}
	})
}

// cookieOr is the session cookie rec sets, or else c.
func cookieOr(rec *httptest.ResponseRecorder, c *http.Cookie) *http.Cookie {
	for _, set := range rec.Result().Cookies() {
		if set.Name == c.Name {
			return set
		}
	}
	return c
}
