package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/mail"

	"scribe/job"
	"scribe/store"
	"scribe/views"
)

const maxFormBytes = 16 << 10

var (
	errSignupClosed = job.Errorf(job.CodeForbidden, "Sign-up is closed on this server.")
	errEmailTaken   = job.Errorf(job.CodeConflict, "An account with this email already exists; log in instead.")
	errBadEmail     = job.Errorf(job.CodeInvalid, "Enter a valid email address.")
)

func (h *Handler) showSignup(w http.ResponseWriter, r *http.Request) {
	invite := r.URL.Query().Get("invite")
	if err := h.admission(r.Context(), invite); err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.SignupPage(views.AuthModel{Layout: h.layout(w, r, "Sign up"), Invite: invite}))
}

// signup creates an account. With an open policy a taken email is told
// apart from a free one (the new account is signed in at once, so the
// difference cannot be hidden without email); sign-ups are throttled hard
// per address instead, and the default policy needs an invitation.
func (h *Handler) signup(w http.ResponseWriter, r *http.Request) {
	email, password, ok := h.credentials(w, r)
	invite := r.PostFormValue("invite")
	show := func(status int, problem string) {
		h.render(w, r, status, views.SignupPage(views.AuthModel{Layout: h.layout(w, r, "Sign up"), Email: email, Invite: invite, Error: problem}))
	}
	u, err := h.createAccount(r, ok, email, password, invite)
	if err != nil {
		h.formFailed(w, r, err, show)
		return
	}
	h.startSession(w, r, u)
}

func (h *Handler) createAccount(r *http.Request, formOK bool, email, password, invite string) (store.User, error) {
	ctx := r.Context()
	if !formOK {
		return store.User{}, errBadForm
	}
	if wait := h.throttle.signupWait(store.FoldEmail(email), sourceAddress(r)); wait > 0 {
		return store.User{}, tooManyAttempts(wait)
	}
	if err := h.admission(ctx, invite); err != nil {
		return store.User{}, err
	}
	if !validEmail(email) {
		return store.User{}, errBadEmail
	}
	hash, err := h.hashNewPassword(ctx, email, password)
	if err != nil {
		return store.User{}, err
	}
	var u store.User
	switch {
	case invite != "":
		u, err = h.Store.CreateInvitedUser(ctx, invite, email, hash)
	case h.cfg.Signup == SignupOpen:
		u, err = h.Store.CreateUser(ctx, email, hash)
	default: // by invitation: only the first account comes without one
		u, err = h.Store.CreateFirstUser(ctx, email, hash)
	}
	if errors.Is(err, job.ErrConflict) {
		return store.User{}, errEmailTaken
	}
	return u, err
}

// admission reports whether the sign-up policy lets a sign-up with invite
// (possibly empty) in. It answers early, before any password work; the
// store decides again, race-free, when the account is made.
func (h *Handler) admission(ctx context.Context, invite string) error {
	switch {
	case h.cfg.Signup == SignupClosed:
		return errSignupClosed
	case invite != "":
		return h.Store.CheckInvitation(ctx, invite)
	case h.cfg.Signup == SignupOpen:
		return nil
	}
	exists, err := h.Store.HasUsers(ctx)
	if err == nil && exists {
		err = store.ErrInvitationRequired
	}
	return err
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}
