package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"scribe/job"
	"scribe/store"
)

// A share link works for expires_in days: 30 unless asked, at most 365.
const (
	defaultShareDays = 30
	maxShareDays     = 365
)

// shareFlash keys the link just made in the session, for the job page to
// show once: only a hash of its token is kept.
const shareFlash = "share_url"

var errShareDays = job.Errorf(job.CodeInvalid, "expires_in must be a whole number of days from 1 to 365.")

// shareJob answers POST /jobs/{id}/share: a new read-only link to the
// user's completed job (the job's earlier link stops working), as
// 201 {"url","expires_at"} or, from the page's form, back to the job page,
// which shows it.
func (h *Handler) shareJob(w http.ResponseWriter, r *http.Request, u store.User) {
	days, err := shareDays(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sh, err := h.Store.CreateShare(r.Context(), u.ID, r.PathValue("id"), time.Duration(days)*24*time.Hour)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	link := h.publicURL(sharedURL(sh.Token, ""))
	if wantsJSON(r) {
		writeJSON(w, http.StatusCreated, map[string]any{"url": link, "expires_at": sh.ExpiresAt})
		return
	}
	s := h.session(r)
	s.AddFlash(link, shareFlash)
	if err := s.Save(r, w); err != nil {
		h.Log.Error("handlers: unable to keep the share link for the page", "error", err)
	}
	http.Redirect(w, r, "/jobs/"+url.PathEscape(r.PathValue("id")), http.StatusSeeOther)
}

// shareDays reads expires_in from a JSON body or a form.
func shareDays(w http.ResponseWriter, r *http.Request) (int, error) {
	body := http.MaxBytesReader(w, r.Body, maxFormBytes)
	var days json.Number
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" {
		var in struct {
			ExpiresIn json.Number `json:"expires_in"`
		}
		if err := json.NewDecoder(body).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
			return 0, job.Errorf(job.CodeInvalid, "The body must be JSON like {\"expires_in\": 30}.")
		}
		days = in.ExpiresIn
	} else {
		r.Body = body
		if err := r.ParseForm(); err != nil {
			return 0, job.Errorf(job.CodeInvalid, "The form could not be read.")
		}
		days = json.Number(r.PostForm.Get("expires_in"))
	}
	if days == "" {
		return defaultShareDays, nil
	}
	n, err := strconv.Atoi(string(days))
	if err != nil || n < 1 || n > maxShareDays {
		return 0, errShareDays
	}
	return n, nil
}

// revokeShare ends the job's link at once: DELETE /jobs/{id}/share answers
// 204 (also when it had none), the job page's form goes back to the page.
func (h *Handler) revokeShare(w http.ResponseWriter, r *http.Request, u store.User) {
	if err := h.Store.RevokeShare(r.Context(), u.ID, r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	if r.Method == http.MethodDelete {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.flash(w, r, "The share link no longer works.")
	http.Redirect(w, r, "/jobs/"+url.PathEscape(r.PathValue("id")), http.StatusSeeOther)
}

// takeShareLink reads and clears the link shareJob just made, if any.
func (h *Handler) takeShareLink(w http.ResponseWriter, r *http.Request) string {
	s := h.session(r)
	flashes := s.Flashes(shareFlash)
	if len(flashes) == 0 {
		return ""
	}
	if err := s.Save(r, w); err != nil {
		h.Log.Error("handlers: unable to clear the share link", "error", err)
	}
	link, _ := flashes[0].(string)
	return link
}

// sharedURL is the path of a share link, or of what it serves (suffix).
func sharedURL(token, suffix string) string {
	return "/shared/" + url.PathEscape(token) + suffix
}
