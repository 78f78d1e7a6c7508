package handlers

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"testing"

	"scribe/static"
)

// TestStaticAssets checks that an asset's versioned URL may be cached for
// good, while the bare URL and an old version still serve it, briefly.
func TestStaticAssets(t *testing.T) {
	routes := newTestHandler(t, unreachable()).Routes()
	want, err := fs.ReadFile(static.FS, "app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url, cache string
	}{
		{"Versioned", static.URL("app.js"), "public, max-age=31536000, immutable"},
		{"Unversioned", "/static/app.js", "public, max-age=300"},
		{"OldVersion", "/static/app.js?v=0123456789ab", "public, max-age=300"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			routes.ServeHTTP(rec, httptest.NewRequest("GET", tc.url, nil))
			if got, want := rec.Code, http.StatusOK; got != want {
				t.Fatalf("GET %s: status %d, want %d", tc.url, got, want)
			}
			if got := rec.Header().Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			if rec.Body.String() != string(want) {
				t.Errorf("body is not app.js")
			}
		})
	}
	t.Run("Revalidate", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/static/app.js", nil)
		req.Header.Set("If-None-Match", `"`+static.Version("app.js")+`"`)
		rec := httptest.NewRecorder()
		routes.ServeHTTP(rec, req)
		if got, want := rec.Code, http.StatusNotModified; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
	})
}
