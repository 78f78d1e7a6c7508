package handlers

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"path/filepath"
	"strings"

	"scribe/job"
	"scribe/store"
	"scribe/transcript"
)

// downloadTranscript serves /jobs/{id}/transcript.{txt,srt,vtt,json} as an
// attachment: the current revision, named by its ETag.
func (h *Handler) downloadTranscript(w http.ResponseWriter, r *http.Request, u store.User) {
	j, err := h.Store.Job(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.serveTranscript(w, r, j)
}

// serveTranscript serves a job's current transcript in the format its
// path's {file} names.
func (h *Handler) serveTranscript(w http.ResponseWriter, r *http.Request, j job.Job) {
	ext, ok := strings.CutPrefix(r.PathValue("file"), "transcript.")
	format, known := transcript.ByExt(ext)
	if !ok || !known {
		h.fail(w, r, job.ErrNotFound)
		return
	}
	rev, err := h.Store.CurrentRevision(r.Context(), j.ID)
	if err != nil {
		h.fail(w, r, orConflict(err, "The transcript is not ready yet."))
		return
	}
	var buf bytes.Buffer
	meta := transcript.Meta{JobID: j.ID, Filename: j.Filename, Engine: h.cfg.EngineName}
	if err := format.Write(&buf, rev.Result, meta); err != nil {
		if errors.Is(err, transcript.ErrEmpty) {
			err = job.Errorf(job.CodeConflict, "No speech was recognised in this recording, so there are no "+
				strings.ToUpper(ext)+" subtitles (SubRip cannot hold an empty file). The text, WebVTT and JSON downloads are available.")
		}
		h.fail(w, r, err)
		return
	}
	base := strings.TrimSuffix(j.Filename, filepath.Ext(j.Filename))
	w.Header().Set("Content-Type", format.ContentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": base + "." + ext}))
	w.Header().Set("Content-Length", fmt.Sprint(buf.Len()))
	w.Header().Set("ETag", revisionETag(rev.ID))
	// An edit changes what every download says; no cache may keep an old one.
	w.Header().Set("Cache-Control", "no-store")
	buf.WriteTo(w)
}

// orConflict maps a missing row to a 409 with message, for things that
// exist only once a job is done.
func orConflict(err error, message string) error {
	if err == job.ErrNotFound {
		return job.Errorf(job.CodeConflict, message)
	}
	return err
}
