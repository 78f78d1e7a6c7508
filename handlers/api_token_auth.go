package handlers

import (
	"errors"
	"net/http"
	"strings"

	"scribe/job"
)

// API tokens authenticate scripts with "Authorization: Bearer <token>".
// Such a request is never a cookie session: its cookie is ignored, so
// cross-origin protection, which guards what a browser sends on its own
// (cookies), does not apply to it (see Routes). A token reaches the
// routes wrapped by api and pageOrAPI (the JSON API: jobs, transcripts,
// edits, events, search); it never reaches a page route, so it cannot
// change the account (password, tokens) or act as the admin.

var (
	errBadToken     = job.Errorf(job.CodeUnauthorized, "The API token is not valid: it is mistyped, revoked, or its account is disabled.")
	errTokenNotHere = job.Errorf(job.CodeForbidden, "API tokens cannot be used here; sign in with a browser.")
)

// bearerToken is the request's API token, if it carries one.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// withToken runs next as the owner of the request's API token: a bad
// token is 401, and failed tries from one address are throttled as failed
// log-ins are (429 with Retry-After).
func (h *Handler) withToken(next userHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		w.Header().Set("WWW-Authenticate", `Bearer realm="scribe"`)
		addr := sourceAddress(r)
		if wait := h.throttle.tokenWait(addr); wait > 0 {
			h.fail(w, r, tooManyAttempts(wait))
			return
		}
		secret, _ := bearerToken(r)
		u, t, err := h.Store.UserByAPIToken(r.Context(), secret)
		if errors.Is(err, job.ErrNotFound) || err == nil && u.Disabled {
			h.throttle.tokenFailed(addr)
			h.fail(w, r, errBadToken)
			return
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Del("WWW-Authenticate")
		if err := h.Store.TouchAPIToken(r.Context(), t); err != nil {
			h.Log.Error("handlers: unable to record API token use", "token_id", t.ID, "error", err)
		}
		next(w, withUser(r, u), u)
	}
}
