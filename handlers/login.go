package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"scribe/job"
	"scribe/store"
	"scribe/views"
)

var (
	// errWrongPassword answers an unknown email and a wrong password alike.
	errWrongPassword = job.Errorf(job.CodeUnauthorized, "Wrong email or password.")
	errWrongCurrent  = job.Errorf(job.CodeInvalid, "Your current password is not right.")
	errDisabled      = job.Errorf(job.CodeForbidden, "This account is disabled. Ask an admin to enable it.")
	errBadForm       = job.Errorf(job.CodeInvalid, "The form could not be read; please try again.")
)

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, views.LoginPage(views.AuthModel{Layout: h.layout(w, r, "Log in")}))
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	email, password, ok := h.credentials(w, r)
	show := func(status int, problem string) {
		h.render(w, r, status, views.LoginPage(views.AuthModel{Layout: h.layout(w, r, "Log in"), Email: email, Error: problem}))
	}
	if !ok {
		h.formFailed(w, r, errBadForm, show)
		return
	}
	u, err := h.authenticate(r.Context(), email, password, sourceAddress(r))
	if err != nil {
		h.formFailed(w, r, err, show)
		return
	}
	h.startSession(w, r, u)
}

// authenticate checks email's password, within the log-in throttle and a
// password slot. Unknown emails cost and count as much as wrong passwords.
func (h *Handler) authenticate(ctx context.Context, email, password, addr string) (store.User, error) {
	account := store.FoldEmail(email)
	if wait := h.throttle.loginWait(account, addr); wait > 0 {
		return store.User{}, tooManyAttempts(wait)
	}
	u, err := h.Store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, job.ErrNotFound) {
		return store.User{}, err
	}
	match := false
	err = h.passwords.do(ctx, func() {
		hash := u.PasswordHash
		if hash == nil {
			hash = dummyHash()
		}
		match = passwordMatches(hash, password) && u.ID != 0
	})
	if err != nil {
		return store.User{}, err
	}
	if !match {
		h.throttle.loginFailed(account, addr)
		return store.User{}, errWrongPassword
	}
	if u.Disabled {
		return store.User{}, errDisabled
	}
	h.throttle.loginSucceeded(account, addr)
	return u, nil
}

func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, u store.User) {
	if err := h.signIn(w, r, u); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h *Handler) credentials(w http.ResponseWriter, r *http.Request) (email, password string, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return "", "", false
	}
	return strings.TrimSpace(r.PostFormValue("email")), r.PostFormValue("password"), true
}
