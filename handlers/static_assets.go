package handlers

import (
	"net/http"
	"strings"

	"scribe/static"
)

// Cache lifetimes of the assets. A versioned URL (static.URL) changes
// whenever its file does, so a browser may keep it a year without asking
// again; any other request for an asset (no version, or an old one) gets
// the current file for a few minutes, then revalidates by ETag.
const (
	cacheVersioned   = "public, max-age=31536000, immutable"
	cacheUnversioned = "public, max-age=300"
)

// staticAssets serves the embedded assets under /static/.
func staticAssets() http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(static.FS))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cache := cacheUnversioned
		if v := static.Version(strings.TrimPrefix(r.URL.Path, "/static/")); v != "" {
			if r.URL.Query().Get("v") == v {
				cache = cacheVersioned
			}
			w.Header().Set("ETag", `"`+v+`"`)
		}
		w.Header().Set("Cache-Control", cache)
		files.ServeHTTP(w, r)
	})
}
