package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"scribe/job"
	"scribe/store"
	"scribe/views"
)

// adminUserLimit bounds the admin's list; scribe serves a team, not a crowd.
const adminUserLimit = 1000

var errDisableSelf = job.Errorf(job.CodeConflict, "You cannot disable your own account.")

func (h *Handler) adminUsers(w http.ResponseWriter, r *http.Request, u store.User) {
	h.renderAdminUsers(w, r, u, nil)
}

// renderAdminUsers draws the admin page, with link if one was just made.
func (h *Handler) renderAdminUsers(w http.ResponseWriter, r *http.Request, admin store.User, link *views.NewLink) {
	users, err := h.Store.Users(r.Context(), adminUserLimit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := views.AdminUsersModel{Layout: h.layout(w, r, "Users"), Signup: h.cfg.Signup, NewLink: link}
	for _, u := range users {
		m.Users = append(m.Users, views.AdminUser{ID: u.ID, Email: u.Email, CreatedAt: u.CreatedAt,
			Admin: u.Admin, Disabled: u.Disabled, You: u.ID == admin.ID})
	}
	h.render(w, r, http.StatusOK, views.AdminUsersPage(m))
}

// disableUser stops an account from signing in; its sessions end at once.
func (h *Handler) disableUser(w http.ResponseWriter, r *http.Request, admin store.User) {
	h.setDisabled(w, r, admin, true)
}

func (h *Handler) enableUser(w http.ResponseWriter, r *http.Request, admin store.User) {
	h.setDisabled(w, r, admin, false)
}

func (h *Handler) setDisabled(w http.ResponseWriter, r *http.Request, admin store.User, disabled bool) {
	u, err := h.pathUser(r)
	if err == nil && u.ID == admin.ID {
		err = errDisableSelf
	}
	if err == nil {
		err = h.Store.SetDisabled(r.Context(), u.ID, disabled)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if disabled {
		h.flash(w, r, u.Email+" is disabled; their sessions have ended.")
	} else {
		h.flash(w, r, u.Email+" is enabled.")
	}
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

// createResetLink makes a one-time password reset link for an account; the
// admin passes it on, as scribe sends no email.
func (h *Handler) createResetLink(w http.ResponseWriter, r *http.Request, admin store.User) {
	u, err := h.pathUser(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l, err := h.Store.CreateResetLink(r.Context(), admin.ID, u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderAdminUsers(w, r, admin, &views.NewLink{What: "Password reset for " + u.Email,
		URL: h.publicURL("/reset/" + l.Token), ExpiresAt: l.ExpiresAt})
}

// pathUser is the account named by the {id} in the path.
func (h *Handler) pathUser(r *http.Request) (store.User, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return store.User{}, job.ErrNotFound
	}
	return h.Store.UserByID(r.Context(), id)
}

// publicURL is path on the app's public base URL, or path alone without one.
func (h *Handler) publicURL(path string) string {
	return strings.TrimRight(h.cfg.PublicURL, "/") + path
}
