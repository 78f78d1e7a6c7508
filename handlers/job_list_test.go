package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"scribe/job"
	"scribe/store"
	"scribe/store/storetest"
)

// listPage is GET /jobs's answer as a client reads it.
type listPage struct {
	Jobs []struct {
		ID   string   `json:"id"`
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	} `json:"jobs"`
	Next *string `json:"next"`
}

// requestJSON sends a JSON request and decodes a 200 answer into v; it
// returns the answer.
func requestJSON(t *testing.T, h *Handler, cookie *http.Cookie, method, path, body string, v any) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := serve(h, req, cookie)
	if rec.Code == http.StatusOK && v != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, rec.Body)
		}
	}
	return rec
}

// errorOf is the message of a JSON error answer.
func errorOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error answer %q is not JSON: %v", rec.Body, err)
	}
	return e.Error
}

// TestListPagesWhileJobsArrive follows next links from the first page
// while new jobs are uploaded (and one renamed) between fetches: every job
// that existed at the start is seen exactly once, in order.
func TestListPagesWhileJobsArrive(t *testing.T) {
	for _, sort := range []string{"date", "name"} {
		t.Run(sort, func(t *testing.T) {
			h := newTestHandler(t, unreachable())
			ada := storetest.User(t, h.Store, "ada@example.com")
			var before []string
			for i := range 23 {
				before = append(before, storetest.QueuedJob(t, h.Store, ada, fmt.Sprintf("j_%02d", i)).ID)
			}
			storetest.QueuedJob(t, h.Store, storetest.User(t, h.Store, "grace@example.com"), "theirs")
			cookie := signedIn(t, h, ada)
			var seen []string
			path := "/jobs?limit=5&sort=" + sort
			for page := 0; ; page++ {
				var p listPage
				if rec := requestJSON(t, h, cookie, "GET", path, "", &p); rec.Code != http.StatusOK {
					t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
				}
				if len(p.Jobs) > 5 {
					t.Fatalf("page of %d jobs, want at most 5", len(p.Jobs))
				}
				for _, j := range p.Jobs {
					seen = append(seen, j.ID)
				}
				if p.Next == nil {
					break
				}
				path = *p.Next
				if !strings.HasPrefix(path, "/jobs?") {
					t.Fatalf("next %q is not a path of the list", path)
				}
				// Newer jobs, one sorting first by name ("a…") and one last.
				storetest.QueuedJob(t, h.Store, ada, fmt.Sprintf("a_new_%d", page))
				storetest.QueuedJob(t, h.Store, ada, fmt.Sprintf("z_new_%d", page))
			}
			var old []string
			for _, id := range seen {
				if strings.HasPrefix(id, "j_") {
					old = append(old, id)
				}
			}
			want := slices.Clone(before)
			if sort == "date" {
				slices.Reverse(want)
			}
			if !slices.Equal(old, want) {
				t.Fatalf("jobs seen %v, want each of %v once, in order", old, want)
			}
			if slices.Contains(seen, "theirs") {
				t.Fatal("another user's job listed")
			}
		})
	}
}

// TestListParameters checks the list's limit bounds and filters, and that
// bad parameters get a 400 that says what is wrong.
func TestListParameters(t *testing.T) {
	h := newTestHandler(t, unreachable())
	ada := storetest.User(t, h.Store, "ada@example.com")
	for i := range 205 {
		storetest.QueuedJob(t, h.Store, ada, fmt.Sprintf("j_%03d", i))
	}
	if _, err := h.Store.FailUnsubmitted(t.Context(), "j_007", "no"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Relay.Organise(t.Context(), ada.ID, "j_003", job.Organise{Add: []string{"work"}}); err != nil {
		t.Fatal(err)
	}
	cookie := signedIn(t, h, ada)
	for name, tc := range map[string]struct {
		query   string
		jobs    int
		hasNext bool
	}{
		"Default":  {"", 50, true},
		"Max":      {"?limit=200", 200, true},
		"OverMax":  {"?limit=1000", 200, true},
		"One":      {"?limit=1", 1, true},
		"Status":   {"?status=failed", 1, false},
		"Tag":      {"?tag=Work", 1, false},
		"TagEmpty": {"?tag=home", 0, false},
		"Both":     {"?tag=work&status=failed", 0, false},
	} {
		t.Run(name, func(t *testing.T) {
			var p listPage
			if rec := requestJSON(t, h, cookie, "GET", "/jobs"+tc.query, "", &p); rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if got, want := len(p.Jobs), tc.jobs; got != want {
				t.Errorf("%d jobs, want %d", got, want)
			}
			if got, want := p.Next != nil, tc.hasNext; got != want {
				t.Errorf("next %v, want a next page: %v", p.Next, want)
			}
		})
	}
	for name, tc := range map[string]struct{ query, message string }{
		"LimitZero":  {"?limit=0", "limit must be a whole number of 1 or more (at most 200 are sent)."},
		"LimitWord":  {"?limit=ten", "limit must be a whole number of 1 or more (at most 200 are sent)."},
		"Sort":       {"?sort=size", "sort must be date or name."},
		"Status":     {"?status=done", "status must be queued, processing, completed or failed."},
		"Cursor":     {"?after=bogus", store400Cursor},
		"TagTooLong": {"?tag=" + strings.Repeat("t", 33), `A tag can be at most 32 characters long; "` + strings.Repeat("t", 33) + `" has 33.`},
	} {
		t.Run("Bad"+name, func(t *testing.T) {
			rec := requestJSON(t, h, cookie, "GET", "/jobs"+tc.query, "", nil)
			if got, want := rec.Code, http.StatusBadRequest; got != want {
				t.Fatalf("status %d, want %d", got, want)
			}
			if got := errorOf(t, rec); got != tc.message {
				t.Errorf("error %q, want %q", got, tc.message)
			}
		})
	}
	t.Run("NotJSON", func(t *testing.T) {
		rec := serve(h, httptest.NewRequest("GET", "/jobs?status=failed&x=1", nil), cookie)
		if got, want := rec.Code, http.StatusSeeOther; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
		if got, want := rec.Header().Get("Location"), "/?status=failed"; got != want {
			t.Errorf("redirect to %q, want %q", got, want)
		}
	})
	t.Run("SignedOut", func(t *testing.T) {
		if got, want := requestJSON(t, h, nil, "GET", "/jobs", "", nil).Code, http.StatusUnauthorized; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
	})
}

const store400Cursor = "The link to the next page is not valid; start again from the first page."

// TestHomePages follows the list page's Older links: each page has its own
// rows, and the filters stay on.
func TestHomePages(t *testing.T) {
	h := newTestHandler(t, unreachable())
	ada := storetest.User(t, h.Store, "ada@example.com")
	for i := range 5 {
		j := storetest.QueuedJob(t, h.Store, ada, fmt.Sprintf("j_%d", i))
		if i%2 == 0 {
			if _, err := h.Relay.Organise(t.Context(), ada.ID, j.ID, job.Organise{Add: []string{"even"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cookie := signedIn(t, h, ada)
	var seen []string
	path := "/?tag=even&limit=2"
	for range 5 {
		rec := serve(h, httptest.NewRequest("GET", path, nil), cookie)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, rec.Code)
		}
		doc, err := goquery.NewDocumentFromReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		doc.Find(`[data-testid="job-row"]`).Each(func(_ int, s *goquery.Selection) {
			seen = append(seen, s.AttrOr("data-job-id", ""))
		})
		if got, want := doc.Find(`[data-testid="filter-tag"]`).AttrOr("value", ""), "even"; got != want {
			t.Errorf("tag filter shows %q, want %q", got, want)
		}
		next, ok := doc.Find(`[data-testid="next-page"]`).Attr("href")
		if !ok {
			break
		}
		u, err := url.Parse(next)
		if err != nil || u.Query().Get("tag") != "even" || u.Query().Get("limit") != "2" {
			t.Fatalf("next link %q drops the filter or limit", next)
		}
		path = next
	}
	if got, want := seen, []string{"j_4", "j_2", "j_0"}; !slices.Equal(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
}

// TestOrganiseRoutes renames and tags through the JSON and form routes,
// and checks that bad names and tags get a 400 that says why.
func TestOrganiseRoutes(t *testing.T) {
	h := newTestHandler(t, unreachable())
	ada := storetest.User(t, h.Store, "ada@example.com")
	storetest.QueuedJob(t, h.Store, ada, "j_1")
	cookie := signedIn(t, h, ada)

	t.Run("Patch", func(t *testing.T) {
		var got struct {
			Name     string   `json:"name"`
			Filename string   `json:"filename"`
			Tags     []string `json:"tags"`
		}
		rec := requestJSON(t, h, cookie, "PATCH", "/jobs/j_1", `{"name": "Standup 3 May", "tags": ["Work", "daily"]}`, &got)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if got.Name != "Standup 3 May" || got.Filename != "j_1.wav" || !slices.Equal(got.Tags, []string{"daily", "work"}) {
			t.Errorf("answered %+v", got)
		}
	})
	t.Run("Forms", func(t *testing.T) {
		post := func(path string, form url.Values) *httptest.ResponseRecorder {
			req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return serve(h, req, cookie)
		}
		if rec := post("/jobs/j_1/rename", url.Values{"name": {"Standup"}}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/jobs/j_1" {
			t.Fatalf("rename: %d to %q", rec.Code, rec.Header().Get("Location"))
		}
		if rec := post("/jobs/j_1/tags", url.Values{"add": {"a, b"}, "remove": {"daily"}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("tags: %d", rec.Code)
		}
		j, err := h.Store.Job(t.Context(), ada.ID, "j_1")
		if err != nil {
			t.Fatal(err)
		}
		if j.Name != "Standup" || !slices.Equal(j.Tags, []string{"a", "b", "work"}) {
			t.Errorf("job is named %q with tags %v", j.Name, j.Tags)
		}
		if rec := post("/jobs/j_1/tags", url.Values{"add": {" "}}); rec.Code != http.StatusBadRequest ||
			!strings.Contains(rec.Body.String(), "Type a tag to add.") {
			t.Errorf("empty tag form: %d", rec.Code)
		}
	})
	tags21 := `["` + strings.Repeat(`t", "`, 20) + `u"]`
	for name, tc := range map[string]struct{ body, message string }{
		"EmptyName":   {`{"name": " \n"}`, "A name cannot be empty."},
		"LongName":    {`{"name": "` + strings.Repeat("é", 201) + `"}`, "A name can be at most 200 characters long; this one has 201."},
		"LongTag":     {`{"tags": ["` + strings.Repeat("x", 33) + `"]}`, `A tag can be at most 32 characters long; "` + strings.Repeat("x", 33) + `" has 33.`},
		"Comma":       {`{"tags": ["a,b"]}`, `A tag cannot contain a comma: "a,b".`},
		"TooManyTags": {`{"tags": ` + tags21 + `}`, "A job can have at most 20 tags."},
		"Unknown":     {`{"title": "x"}`, errBadOrganise.Error()},
		"NotJSON":     {`name=x`, errBadOrganise.Error()},
		"Trailing":    {`{"name": "x"} {}`, errBadOrganise.Error()},
	} {
		t.Run("Bad"+name, func(t *testing.T) {
			rec := requestJSON(t, h, cookie, "PATCH", "/jobs/j_1", tc.body, nil)
			if got, want := rec.Code, http.StatusBadRequest; got != want {
				t.Fatalf("status %d, want %d: %s", got, want, rec.Body)
			}
			if got := errorOf(t, rec); got != tc.message {
				t.Errorf("error %q, want %q", got, tc.message)
			}
		})
	}
	t.Run("TooLarge", func(t *testing.T) {
		rec := requestJSON(t, h, cookie, "PATCH", "/jobs/j_1", `{"name": "`+strings.Repeat("x", 70<<10)+`"}`, nil)
		if got, want := rec.Code, http.StatusRequestEntityTooLarge; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
	})
	if j, _ := h.Store.Job(t.Context(), ada.ID, "j_1"); j.Name != "Standup" {
		t.Errorf("refused changes renamed the job to %q", j.Name)
	}
}

// TestBulkDelete deletes a selection that names the user's jobs, another
// user's and one that does not exist: only the user's are deleted.
func TestBulkDelete(t *testing.T) {
	h := newTestHandler(t, unreachable())
	ada, grace := storetest.User(t, h.Store, "ada@example.com"), storetest.User(t, h.Store, "grace@example.com")
	for _, id := range []string{"j_1", "j_2", "j_3"} {
		storetest.QueuedJob(t, h.Store, ada, id)
	}
	storetest.QueuedJob(t, h.Store, grace, "g_1")
	cookie := signedIn(t, h, ada)

	t.Run("JSON", func(t *testing.T) {
		var got bulkDeleteJSON
		rec := requestJSON(t, h, cookie, "POST", "/jobs/delete", `{"ids": ["j_1", "g_1", "nope", "j_1"]}`, &got)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if want := []string{"j_1"}; !slices.Equal(got.IDs, want) {
			t.Errorf("deleted %v, want %v", got.IDs, want)
		}
	})
	t.Run("Form", func(t *testing.T) {
		form := url.Values{"id": {"j_2", "g_1"}, "back": {"/?tag=x"}}
		req := httptest.NewRequest("POST", "/jobs/delete", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := serve(h, req, cookie)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/?tag=x" {
			t.Fatalf("answer %d to %q, want 303 to /?tag=x", rec.Code, rec.Header().Get("Location"))
		}
	})
	t.Run("ElsewhereIsHome", func(t *testing.T) {
		form := url.Values{"id": {"nope"}, "back": {"//evil.example/"}}
		req := httptest.NewRequest("POST", "/jobs/delete", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if got := serve(h, req, cookie).Header().Get("Location"); got != "/" {
			t.Errorf("redirect to %q, want /", got)
		}
	})
	for name, tc := range map[string]struct{ body, message string }{
		"Nothing": {`{"ids": []}`, errNothingSelected.Error()},
		"TooMany": {`{"ids": ` + manyIDs(201) + `}`, errTooManySelected.Error()},
		"NotIDs":  {`{"ids": "j_3"}`, errBadBulkDelete.Error()},
	} {
		t.Run("Bad"+name, func(t *testing.T) {
			rec := requestJSON(t, h, cookie, "POST", "/jobs/delete", tc.body, nil)
			if rec.Code != http.StatusBadRequest || errorOf(t, rec) != tc.message {
				t.Errorf("answer %d %s, want 400 %q", rec.Code, rec.Body, tc.message)
			}
		})
	}
	left, _, err := h.Store.ListJobs(t.Context(), listQueryFor(t, ada.ID))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(left), 1; got != want || left[0].ID != "j_3" {
		t.Errorf("ada has %d jobs left, want only j_3", got)
	}
	if _, err := h.Store.Job(t.Context(), grace.ID, "g_1"); err != nil {
		t.Errorf("another user's job was deleted: %v", err)
	}
}

// listQueryFor is the first page of a user's list.
func listQueryFor(t *testing.T, userID int64) store.JobQuery {
	t.Helper()
	q, err := parseListQuery(url.Values{}, userID)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// manyIDs is a JSON list of n distinct ids.
func manyIDs(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint("j_", i)
	}
	b, _ := json.Marshal(ids)
	return string(b)
}
