package handlers

import (
	"net/http"
	"net/url"

	"scribe/views"
)

// showReset opens a reset link an admin made: a form for a new password.
func (h *Handler) showReset(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	u, err := h.Store.ResetLinkUser(r.Context(), r.PathValue("token"))
	if err == nil && u.Disabled {
		err = errDisabled
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.ResetPasswordPage(h.resetModel(w, r, u.Email, "")))
}

// resetPassword sets the new password, which uses up the link and ends the
// account's other sessions, and signs its user in.
func (h *Handler) resetPassword(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	token := r.PathValue("token")
	// The link is checked first, so a made-up one costs no password work.
	u, err := h.Store.ResetLinkUser(r.Context(), token)
	if err == nil && u.Disabled {
		err = errDisabled
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, errBadForm)
		return
	}
	hash, err := h.hashNewPassword(r.Context(), u.Email, r.PostFormValue("password"))
	if err == nil {
		u, err = h.Store.ResetPassword(r.Context(), token, hash)
	}
	if err != nil {
		h.formFailed(w, r, err, func(status int, problem string) {
			h.render(w, r, status, views.ResetPasswordPage(h.resetModel(w, r, u.Email, problem)))
		})
		return
	}
	h.startSession(w, r, u)
}

func (h *Handler) resetModel(w http.ResponseWriter, r *http.Request, email, problem string) views.ResetPasswordModel {
	return views.ResetPasswordModel{Layout: h.layout(w, r, "Choose a new password"), Email: email,
		Action: "/reset/" + url.PathEscape(r.PathValue("token")), Error: problem}
}
