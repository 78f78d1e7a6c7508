package handlers

import (
	"errors"
	"net/http"
	"net/mail"

	"golang.org/x/crypto/bcrypt"

	"scribe/job"
	"scribe/views"
)

const (
	minPasswordLen = 8
	maxPasswordLen = 72 // bcrypt ignores bytes past 72
	maxFormBytes   = 16 << 10
)

func (h *Handler) showSignup(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, views.SignupPage(views.AuthModel{Layout: h.layout(w, r, "Sign up")}))
}

func (h *Handler) signup(w http.ResponseWriter, r *http.Request) {
	email, password, ok := h.credentials(w, r)
	problem := ""
	switch {
	case !ok:
		problem = "The form could not be read; please try again."
	case !validEmail(email):
		problem = "Enter a valid email address."
	case len(password) < minPasswordLen:
		problem = "Choose a password of at least 8 characters."
	case len(password) > maxPasswordLen:
		problem = "Choose a password of at most 72 characters."
	}
	if problem != "" {
		h.authError(w, r, true, email, problem, http.StatusBadRequest)
		return
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.Store.CreateUser(r.Context(), email, hash)
	if errors.Is(err, job.ErrConflict) {
		h.authError(w, r, true, email, "An account with this email already exists; log in instead.", http.StatusConflict)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.startSession(w, r, u)
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}
