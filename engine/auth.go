package engine

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"scribe/deepscript"
)

// requireAPIKey answers 401 unless the request carries the configured
// Bearer key. The compare is constant-time.
func (a *api) requireAPIKey(next http.Handler) http.Handler {
	want := []byte(a.cfg.APIKey)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(key)), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="deepscript"`)
			a.writeError(w, r, &apiError{http.StatusUnauthorized, deepscript.CodeUnauthorized, "missing or invalid API key"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
