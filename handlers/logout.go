package handlers

import (
	"net/http"
)

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
