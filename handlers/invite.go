package handlers

import (
	"net/http"
	"net/url"

	"scribe/store"
	"scribe/views"
)

// createInvitation makes a single-use sign-up link, which works even when
// sign-up is by invitation; the admin passes it on.
func (h *Handler) createInvitation(w http.ResponseWriter, r *http.Request, admin store.User) {
	if h.cfg.Signup == SignupClosed {
		h.fail(w, r, errSignupClosed)
		return
	}
	l, err := h.Store.CreateInvitation(r.Context(), admin.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderAdminUsers(w, r, admin, &views.NewLink{What: "Invitation",
		URL: h.publicURL("/signup?invite=" + url.QueryEscape(l.Token)), ExpiresAt: l.ExpiresAt})
}
