package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/gorilla/sessions"

	"scribe/job"
	"scribe/store"
)

const (
	sessionName   = "scribe"
	sessionUserID = "uid"
	sessionVer    = "ver"
	sessionMaxAge = 30 * 24 * 60 * 60
)

func newSessionStore(cfg Config) *sessions.CookieStore {
	s := sessions.NewCookieStore(cfg.SessionKeys...)
	// The library's defaults are unsafe (SameSite=None, script-readable).
	s.Options = &sessions.Options{Path: "/", HttpOnly: true, Secure: cfg.SecureCookies, SameSite: http.SameSiteLaxMode}
	s.MaxAge(sessionMaxAge)
	return s
}

// session returns the request's session; a cookie that no longer decodes
// (rotated keys, tampering) gives a fresh one rather than an error.
func (h *Handler) session(r *http.Request) *sessions.Session {
	s, err := h.sessions.Get(r, sessionName)
	if err != nil {
		s, _ = h.sessions.New(r, sessionName)
	}
	return s
}

// currentUser is the signed-in user, if any.
func (h *Handler) currentUser(r *http.Request) (store.User, bool) {
	if u, ok := r.Context().Value(userKey{}).(store.User); ok {
		return u, true // already loaded by page or api for this request
	}
	id, ok := h.session(r).Values[sessionUserID].(int64)
	if !ok {
		return store.User{}, false
	}
	u, err := h.Store.UserByID(r.Context(), id)
	if err != nil {
		if !errors.Is(err, job.ErrNotFound) {
			h.Log.Error("handlers: unable to load session user", "user_id", id, "error", err)
		}
		return store.User{}, false
	}
	if ver, _ := h.session(r).Values[sessionVer].(int64); ver != u.SessionVersion {
		return store.User{}, false // revoked by a log-out
	}
	return u, true
}

// userKey keys the signed-in user in a request's context.
type userKey struct{}

// withUser remembers the signed-in user for the rest of the request.
func withUser(r *http.Request, u store.User) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), userKey{}, u))
}

// signIn starts a fresh session for u.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, u store.User) error {
	s := h.session(r)
	s.Values = map[any]any{sessionUserID: u.ID, sessionVer: u.SessionVersion}
	return s.Save(r, w)
}

// flash stores a one-shot message for the next page.
func (h *Handler) flash(w http.ResponseWriter, r *http.Request, msg string) {
	s := h.session(r)
	s.AddFlash(msg)
	if err := s.Save(r, w); err != nil {
		h.Log.Error("handlers: unable to save flash", "error", err)
	}
}

// takeFlash reads and clears the one-shot message.
func (h *Handler) takeFlash(w http.ResponseWriter, r *http.Request) string {
	s := h.session(r)
	flashes := s.Flashes()
	if len(flashes) == 0 {
		return ""
	}
	if err := s.Save(r, w); err != nil {
		h.Log.Error("handlers: unable to clear flash", "error", err)
	}
	msg, _ := flashes[0].(string)
	return msg
}
