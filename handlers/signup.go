package handlers

import (
	"errors"
	"net/http"
	"net/mail"

	"scribe/job"
	"scribe/store"
	"scribe/views"
)

const maxFormBytes = 16 << 10

var (
	errEmailTaken = job.Errorf(job.CodeConflict, "An account with this email already exists; log in instead.")
	errBadEmail   = job.Errorf(job.CodeInvalid, "Enter a valid email address.")
)

func (h *Handler) showSignup(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, views.SignupPage(views.AuthPage{Layout: h.layout(w, r, "Sign up")}))
}

// signup creates an account. A taken email is told apart from a free one
// (the new account is signed in at once, so the difference cannot be
// hidden without email); sign-ups are throttled hard per address instead.
func (h *Handler) signup(w http.ResponseWriter, r *http.Request) {
	email, password, ok := h.credentials(w, r)
	show := func(status int, problem string) {
		h.render(w, r, status, views.SignupPage(views.AuthPage{Layout: h.layout(w, r, "Sign up"), Email: email, Error: problem}))
	}
	u, err := h.createAccount(r, ok, email, password)
	if err != nil {
		h.formFailed(w, r, err, show)
		return
	}
	h.startSession(w, r, u)
}

func (h *Handler) createAccount(r *http.Request, formOK bool, email, password string) (store.User, error) {
	ctx := r.Context()
	if !formOK {
		return store.User{}, errBadForm
	}
	if wait := h.throttle.signupWait(store.FoldEmail(email), sourceAddress(r)); wait > 0 {
		return store.User{}, tooManyAttempts(wait)
	}
	if !validEmail(email) {
		return store.User{}, errBadEmail
	}
	hash, err := h.hashNewPassword(ctx, email, password)
	if err != nil {
		return store.User{}, err
	}
	u, err := h.Store.CreateUser(ctx, email, hash)
	if errors.Is(err, job.ErrConflict) {
		return store.User{}, errEmailTaken
	}
	return u, err
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}
