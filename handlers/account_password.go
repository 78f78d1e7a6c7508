package handlers

import (
	"errors"
	"net/http"

	"scribe/store"
	"scribe/views"
)

func (h *Handler) showAccount(w http.ResponseWriter, r *http.Request, u store.User) {
	h.render(w, r, http.StatusOK, views.AccountPage(views.AccountModel{Layout: h.layout(w, r, "Account")}))
}

// changePassword sets a new password once the current one checks out (under
// the log-in throttle, so a borrowed session cannot guess it). Every other
// session ends; this one carries on with the new session version.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, u store.User) {
	show := func(status int, problem string) {
		h.render(w, r, status, views.AccountPage(views.AccountModel{Layout: h.layout(w, r, "Account"), Error: problem}))
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.formFailed(w, r, errBadForm, show)
		return
	}
	if _, err := h.authenticate(r.Context(), u.Email, r.PostFormValue("current"), sourceAddress(r)); err != nil {
		if errors.Is(err, errWrongPassword) {
			err = errWrongCurrent
		}
		h.formFailed(w, r, err, show)
		return
	}
	hash, err := h.hashNewPassword(r.Context(), u.Email, r.PostFormValue("password"))
	if err != nil {
		h.formFailed(w, r, err, show)
		return
	}
	u, err = h.Store.ChangePassword(r.Context(), u.ID, hash)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.signIn(w, r, u); err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(w, r, "Your password was changed, and your other sessions were signed out.")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}
