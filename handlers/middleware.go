package handlers

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/a-h/templ"

	"scribe/job"
	"scribe/random"
	"scribe/store"
)

// userHandler is a handler for a signed-in user.
type userHandler func(w http.ResponseWriter, r *http.Request, u store.User)

// page wraps a route a person opens: signed-out visitors go to the log-in
// page. API tokens do not open pages (see errTokenNotHere).
func (h *Handler) page(next userHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := bearerToken(r); ok {
			noStore(w)
			h.fail(w, r, errTokenNotHere)
			return
		}
		u, ok := h.signedIn(w, r)
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

// api wraps a route scripts and downloads call, with a session or an API
// token: signed-out callers get 401.
func (h *Handler) api(next userHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := bearerToken(r); ok {
			h.withToken(next)(w, r)
			return
		}
		u, ok := h.signedIn(w, r)
		if !ok {
			h.fail(w, r, errUnauthorized)
			return
		}
		next(w, withUser(r, u), u)
	}
}

// pageOrAPI wraps a page whose JSON form scripts read too (GET /jobs/{id}):
// an API token works as for api, a session as for page.
func (h *Handler) pageOrAPI(next userHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := bearerToken(r); ok {
			h.withToken(next)(w, r)
			return
		}
		h.page(next)(w, r)
	}
}

// admin wraps a page only the admin may open.
func (h *Handler) admin(next userHandler) http.HandlerFunc {
	return h.page(func(w http.ResponseWriter, r *http.Request, u store.User) {
		if !u.Admin {
			h.fail(w, r, errNotAdmin)
			return
		}
		next(w, r, u)
	})
}

var errNotAdmin = job.Errorf(job.CodeForbidden, "Only the admin can do that.")

// signedIn is the request's user, if any, for page and api. What they
// answer is private, so no cache may keep it.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) (store.User, bool) {
	noStore(w)
	u, ok := h.currentUser(r)
	if ok {
		h.keepSessionAlive(w, r)
	}
	return u, ok
}

// noStore keeps a response out of every cache.
func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }

// securityHeaders sets the CSP (scripts only from us, with a per-request
// nonce templ adds to script tags) and the other defensive headers; hsts
// (when served over https) tells browsers to use nothing else for 2 years.
func securityHeaders(next http.Handler, hsts bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce := random.Base64(16)
		hd := w.Header()
		hd.Set("Content-Security-Policy", fmt.Sprintf("default-src 'self'; script-src 'self' 'nonce-%s'; "+
			"style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; object-src 'none'; "+
			"base-uri 'self'; form-action 'self'; frame-ancestors 'none'", nonce))
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		if hsts {
			hd.Set("Strict-Transport-Security", "max-age=63072000")
		}
		next.ServeHTTP(w, r.WithContext(templ.WithNonce(r.Context(), nonce)))
	})
}

// wantsJSON reports whether the caller asked for JSON rather than a page;
// a request with an API token always has, as a script has no use for pages.
func wantsJSON(r *http.Request) bool {
	if _, ok := bearerToken(r); ok {
		return true
	}
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}
