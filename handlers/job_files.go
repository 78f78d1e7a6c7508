package handlers

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"scribe/store"
	"scribe/transcript"
)

// downloadTranscript serves /jobs/{id}/transcript.{txt,srt,vtt,json} as an attachment.
func (h *Handler) downloadTranscript(w http.ResponseWriter, r *http.Request, u store.User) {
	j, err := h.Store.Job(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ext, ok := strings.CutPrefix(r.PathValue("file"), "transcript.")
	format, known := transcript.Formats[ext]
	if !ok || !known {
		h.fail(w, r, store.ErrNotFound)
		return
	}
	res, err := h.Store.Result(r.Context(), j.ID)
	if err != nil {
		h.fail(w, r, orConflict(err, "The transcript is not ready yet."))
		return
	}
	var buf bytes.Buffer
	if err := format.Write(&buf, res); err != nil {
		h.fail(w, r, err)
		return
	}
	base := strings.TrimSuffix(j.Filename, filepath.Ext(j.Filename))
	w.Header().Set("Content-Type", format.ContentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": base + "." + ext}))
	w.Header().Set("Content-Length", fmt.Sprint(buf.Len()))
	buf.WriteTo(w)
}

// jobAudio serves the uploaded file, with range requests for seeking.
func (h *Handler) jobAudio(w http.ResponseWriter, r *http.Request, u store.User) {
	j, err := h.Store.Job(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, err := os.Open(j.AudioPath)
	if err != nil {
		h.fail(w, r, store.ErrNotFound)
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
	w.Header().Set("Cache-Control", "private, max-age=3600")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// orConflict maps a missing row to a 409 with message, for things that
// exist only once a job is done.
func orConflict(err error, message string) error {
	if err == store.ErrNotFound {
		return newError(http.StatusConflict, message)
	}
	return err
}
