package handlers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/sessions"

	"scribe/job"
	"scribe/store"
)

// A session ends after sessionIdle without use or sessionLifetime after
// sign-in, whichever comes first. Its last use is written into the cookie
// at most once per sessionRefresh, not on every request.
const (
	sessionIdle     = 7 * 24 * time.Hour
	sessionLifetime = 30 * 24 * time.Hour
	sessionRefresh  = time.Hour
)

// Session values, in the cookie named sessionName.
const (
	sessionName   = "scribe"
	sessionUserID = "uid"
	sessionVer    = "ver"
	sessionStart  = "start" // Unix seconds of sign-in
	sessionSeen   = "seen"  // Unix seconds of the last refresh
)

func newSessionStore(cfg Config, now func() time.Time) *cachingCookieStore {
	s := sessions.NewCookieStore(cfg.SessionKeys...)
	// The library's defaults are unsafe (SameSite=None, script-readable).
	s.Options = &sessions.Options{Path: "/", HttpOnly: true, Secure: cfg.SecureCookies, SameSite: http.SameSiteLaxMode}
	s.MaxAge(int(sessionLifetime.Seconds())) // how old a cookie's signature may be
	s.Options.MaxAge = int(sessionIdle.Seconds())
	return newCachingCookieStore(s, now)
}

// sessionCookie is the session cookie's name: over https the __Host-
// prefix makes browsers insist on Secure, Path=/ and no Domain, so a
// sibling subdomain cannot plant or overwrite it.
func sessionCookie(cfg Config) string {
	if cfg.SecureCookies {
		return "__Host-" + sessionName
	}
	return sessionName
}

// session returns the request's session; a cookie that no longer decodes
// (rotated keys, tampering) gives a fresh one rather than an error.
func (h *Handler) session(r *http.Request) *sessions.Session {
	s, err := h.sessions.Get(r, h.cookie)
	if err != nil {
		// A fresh session, without decoding the cookie a second time.
		s = sessions.NewSession(h.sessions, h.cookie)
		opts := *h.sessions.Options
		s.Options, s.IsNew = &opts, true
	}
	return s
}

// currentUser is the signed-in user, if any.
func (h *Handler) currentUser(r *http.Request) (store.User, bool) {
	if u, ok := r.Context().Value(userKey{}).(store.User); ok {
		return u, true // already loaded by page or api for this request
	}
	s := h.session(r)
	id, ok := s.Values[sessionUserID].(int64)
	start, _ := s.Values[sessionStart].(int64)
	seen, _ := s.Values[sessionSeen].(int64)
	now := h.Store.Now()
	if !ok || now.Sub(time.Unix(start, 0)) > sessionLifetime || now.Sub(time.Unix(seen, 0)) > sessionIdle {
		return store.User{}, false
	}
	u, err := h.Store.UserByID(r.Context(), id)
	if err != nil {
		if !errors.Is(err, job.ErrNotFound) {
			h.Log.Error("handlers: unable to load session user", "user_id", id, "error", err)
		}
		return store.User{}, false
	}
	if ver, _ := s.Values[sessionVer].(int64); ver != u.SessionVersion || u.Disabled {
		return store.User{}, false // revoked (log-out, new password) or disabled
	}
	return u, true
}

// keepSessionAlive records that the signed-in session was used now, so its
// idle timeout starts again; at most once per sessionRefresh.
func (h *Handler) keepSessionAlive(w http.ResponseWriter, r *http.Request) {
	s := h.session(r)
	now := h.Store.Now()
	if seen, _ := s.Values[sessionSeen].(int64); now.Sub(time.Unix(seen, 0)) < sessionRefresh {
		return
	}
	s.Values[sessionSeen] = now.Unix()
	if err := s.Save(r, w); err != nil {
		h.Log.Error("handlers: unable to refresh session", "error", err)
	}
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
	now := h.Store.Now().Unix()
	s.Values = map[any]any{sessionUserID: u.ID, sessionVer: u.SessionVersion, sessionStart: now, sessionSeen: now}
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
