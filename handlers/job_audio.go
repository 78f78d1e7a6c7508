package handlers

import (
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"scribe/job"
	"scribe/store"
)

// jobAudio serves the uploaded file, with range requests for seeking.
func (h *Handler) jobAudio(w http.ResponseWriter, r *http.Request, u store.User) {
	j, err := h.Store.Job(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.serveAudio(w, r, j, "private, max-age=3600")
}

// serveAudio serves a job's audio file with cacheControl.
func (h *Handler) serveAudio(w http.ResponseWriter, r *http.Request, j job.Job, cacheControl string) {
	f, err := os.Open(j.AudioPath)
	if err != nil {
		h.fail(w, r, job.ErrNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The type comes from the user's filename; nosniff keeps the browser
	// from treating it as anything but media.
	ct := mime.TypeByExtension(strings.ToLower(filepath.Ext(j.Filename)))
	if ct == "" || !(strings.HasPrefix(ct, "audio/") || strings.HasPrefix(ct, "video/")) {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", cacheControl)
	http.ServeContent(w, r, "", st.ModTime(), f)
}
