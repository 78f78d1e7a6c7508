package handlers

import (
	"net/http"

	"scribe/job"
	"scribe/views"
)

// A share link's pages need no session: the token in the path is the
// permission, checked on every request, so a revoked or expired link is
// 404 at once. They reach the one job and nothing else of its owner's.

// showShared answers GET /shared/{token}: the job's player, transcript and
// downloads, read-only.
func (h *Handler) showShared(w http.ResponseWriter, r *http.Request) {
	j, ok := h.sharedJob(w, r)
	if !ok {
		return
	}
	t, err := h.transcript(r.Context(), j)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	token := r.PathValue("token")
	h.render(w, r, http.StatusOK, views.SharedPage(views.SharedModel{Layout: h.layout(w, r, j.Filename),
		Filename: j.Filename, Duration: j.Duration, Audio: sharedURL(token, "/audio"),
		Downloads: downloadsAt(sharedURL(token, "")), Transcript: t}))
}

// sharedAudio answers GET /shared/{token}/audio.
func (h *Handler) sharedAudio(w http.ResponseWriter, r *http.Request) {
	if j, ok := h.sharedJob(w, r); ok {
		h.serveAudio(w, r, j, "no-store")
	}
}

// sharedTranscript answers GET /shared/{token}/transcript.{txt,srt,vtt,json}.
func (h *Handler) sharedTranscript(w http.ResponseWriter, r *http.Request) {
	if j, ok := h.sharedJob(w, r); ok {
		h.serveTranscript(w, r, j)
	}
}

// sharedJob is the job the request's link names; when there is none it
// answers 404 and reports false. No cache keeps what it serves, and no
// page sends the link on in a Referer.
func (h *Handler) sharedJob(w http.ResponseWriter, r *http.Request) (job.Job, bool) {
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Robots-Tag", "noindex")
	j, err := h.Store.SharedJob(r.Context(), r.PathValue("token"))
	if err != nil {
		h.fail(w, r, err)
		return job.Job{}, false
	}
	return j, true
}
