package handlers

import (
	"errors"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"scribe/job"
	"scribe/store"
	"scribe/views"
)

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, views.LoginPage(views.AuthModel{Layout: h.layout(w, r, "Log in")}))
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	email, password, ok := h.credentials(w, r)
	if !ok {
		h.authError(w, r, false, email, "The form could not be read; please try again.", http.StatusBadRequest)
		return
	}
	u, err := h.Store.UserByEmail(r.Context(), email)
	if err != nil && !errors.Is(err, job.ErrNotFound) {
		h.fail(w, r, err)
		return
	}
	hash := u.PasswordHash
	if hash == nil {
		// Compare against a dummy so unknown emails take as long as known ones.
		hash = dummyHash()
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || u.ID == 0 {
		h.authError(w, r, false, email, "Wrong email or password.", http.StatusUnauthorized)
		return
	}
	h.startSession(w, r, u)
}

// dummyHash is compared against for unknown emails, so they take as long as
// known ones; made on first use rather than at every start.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a real password"), bcrypt.DefaultCost)
	return h
})

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
	h.render(w, r, status, page(views.AuthModel{Layout: h.layout(w, r, title), Email: email, Error: problem}))
}
