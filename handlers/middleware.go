package handlers

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/a-h/templ"

	"scribe/random"
	"scribe/store"
)

// userHandler is a handler for a signed-in user.
type userHandler func(w http.ResponseWriter, r *http.Request, u store.User)

// page wraps a route a person opens: signed-out visitors go to the log-in page.
func (h *Handler) page(next userHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := h.currentUser(r)
		if !ok {
			if wantsJSON(r) {
				h.fail(w, r, errUnauthorized)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		next(w, withUser(r, u), u)
	}
}

// api wraps a route scripts and downloads call: signed-out callers get 401.
func (h *Handler) api(next userHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := h.currentUser(r)
		if !ok {
			h.fail(w, r, errUnauthorized)
			return
		}
		next(w, withUser(r, u), u)
	}
}

// securityHeaders sets the CSP (scripts only from us, with a per-request
// nonce templ adds to script tags) and the other defensive headers.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce := random.Base64(16)
		hd := w.Header()
		hd.Set("Content-Security-Policy", fmt.Sprintf("default-src 'self'; script-src 'self' 'nonce-%s'; "+
			"style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; object-src 'none'; "+
			"base-uri 'self'; form-action 'self'; frame-ancestors 'none'", nonce))
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r.WithContext(templ.WithNonce(r.Context(), nonce)))
	})
}

// wantsJSON reports whether the caller asked for JSON rather than a page.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}
