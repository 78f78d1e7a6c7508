package handlers

import (
	"encoding/json"
	"mime"
	"net/http"
	"time"

	"scribe/job"
	"scribe/store"
	"scribe/views"
)

// apiTokenJSON is a token as GET /api/tokens lists it; Token (the secret)
// only in the answer to POST /api/tokens.
type apiTokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Token      string     `json:"token,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func toAPITokenJSON(t store.APIToken) apiTokenJSON {
	out := apiTokenJSON{ID: t.ID, Name: t.Name, Token: t.Secret, CreatedAt: t.CreatedAt}
	if !t.LastUsedAt.IsZero() {
		out.LastUsedAt = &t.LastUsedAt
	}
	return out
}

// showAPITokens is the page of the user's tokens (GET /account/tokens).
func (h *Handler) showAPITokens(w http.ResponseWriter, r *http.Request, u store.User) {
	h.renderAPITokens(w, r, u, http.StatusOK, nil, "")
}

// listAPITokens answers GET /api/tokens: {"tokens": [...]}, no secrets.
func (h *Handler) listAPITokens(w http.ResponseWriter, r *http.Request, u store.User) {
	tokens, err := h.Store.APITokens(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]apiTokenJSON, len(tokens))
	for i, t := range tokens {
		out[i] = toAPITokenJSON(t)
	}
	writeJSON(w, http.StatusOK, map[string][]apiTokenJSON{"tokens": out})
}

// createAPIToken makes a token named by the form or JSON field name
// (POST /api/tokens): 201 with its secret as JSON, or the tokens page
// showing it once.
func (h *Handler) createAPIToken(w http.ResponseWriter, r *http.Request, u store.User) {
	show := func(status int, problem string) { h.renderAPITokens(w, r, u, status, nil, problem) }
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	var name string
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" {
		var body struct {
			Name string `json:"name"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			h.fail(w, r, job.Errorf(job.CodeInvalid, `Send {"name": "..."} as JSON.`))
			return
		}
		name = body.Name
	} else {
		if err := r.ParseForm(); err != nil {
			h.formFailed(w, r, errBadForm, show)
			return
		}
		name = r.PostFormValue("name")
	}
	t, err := h.Store.CreateAPIToken(r.Context(), u.ID, name)
	if err != nil {
		if wantsJSON(r) {
			h.fail(w, r, err)
			return
		}
		h.formFailed(w, r, err, show)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusCreated, toAPITokenJSON(t))
		return
	}
	// Rendered, not redirected, so the secret is never in a cookie or URL.
	h.renderAPITokens(w, r, u, http.StatusCreated, &t, "")
}

// revokeAPIToken deletes one of the user's tokens: 204 for DELETE
// /api/tokens/{id}, back to the tokens page for the page's form.
func (h *Handler) revokeAPIToken(w http.ResponseWriter, r *http.Request, u store.User) {
	if err := h.Store.DeleteAPIToken(r.Context(), u.ID, r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	if r.Method == http.MethodDelete {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.flash(w, r, "The token was revoked.")
	http.Redirect(w, r, "/account/tokens", http.StatusSeeOther)
}

func (h *Handler) renderAPITokens(w http.ResponseWriter, r *http.Request, u store.User, status int, made *store.APIToken, problem string) {
	tokens, err := h.Store.APITokens(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := views.APITokensModel{Layout: h.layout(w, r, "API tokens"), Error: problem}
	for _, t := range tokens {
		m.Tokens = append(m.Tokens, views.APIToken{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt})
	}
	if made != nil {
		m.NewToken = &views.APIToken{ID: made.ID, Name: made.Name, Secret: made.Secret, CreatedAt: made.CreatedAt}
	}
	h.render(w, r, status, views.APITokensPage(m))
}
