package handlers

import (
	"errors"
	"net/http"
	"net/mail"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"scribe/store"
	"scribe/views"
)

const (
	minPasswordLen = 8
	maxPasswordLen = 72 // bcrypt ignores bytes past 72
	maxFormBytes   = 16 << 10
)

func (h *Handler) showSignup(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, views.SignupPage(views.AuthPage{Layout: h.layout(w, r, "Sign up")}))
}

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, views.LoginPage(views.AuthPage{Layout: h.layout(w, r, "Log in")}))
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
	if errors.Is(err, store.ErrConflict) {
		h.authError(w, r, true, email, "An account with this email already exists; log in instead.", http.StatusConflict)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.startSession(w, r, u)
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	email, password, ok := h.credentials(w, r)
	if !ok {
		h.authError(w, r, false, email, "The form could not be read; please try again.", http.StatusBadRequest)
		return
	}
	u, err := h.Store.UserByEmail(r.Context(), email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.fail(w, r, err)
		return
	}
	hash := u.PasswordHash
	if hash == nil {
		// Compare against a dummy so unknown emails take as long as known ones.
		hash = dummyHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || u.ID == 0 {
		h.authError(w, r, false, email, "Wrong email or password.", http.StatusUnauthorized)
		return
	}
	h.startSession(w, r, u)
}

// logout ends every session of the user, not only this cookie: a copied
// cookie stops working too.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if u, ok := h.currentUser(r); ok {
		if err := h.Store.RevokeSessions(r.Context(), u.ID); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	s := h.session(r)
	s.Values = map[any]any{}
	s.Options.MaxAge = -1
	if err := s.Save(r, w); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a real password"), bcrypt.DefaultCost)

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

func (h *Handler) authError(w http.ResponseWriter, r *http.Request, signup bool, email, problem string, status int) {
	title, page := "Log in", views.LoginPage
	if signup {
		title, page = "Sign up", views.SignupPage
	}
	h.render(w, r, status, page(views.AuthPage{Layout: h.layout(w, r, title), Email: email, Error: problem}))
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}
