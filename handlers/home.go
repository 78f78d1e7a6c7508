package handlers

import (
	"net/http"

	"scribe/job"
	"scribe/store"
	"scribe/views"
)

// jobListLimit is how many recent jobs the list page and its stream show.
const jobListLimit = 200

func (h *Handler) home(w http.ResponseWriter, r *http.Request, u store.User) {
	jobs, err := h.Store.JobsForUser(r.Context(), u.ID, jobListLimit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderHome(w, r, http.StatusOK, jobs, nil)
}

func (h *Handler) renderHome(w http.ResponseWriter, r *http.Request, status int, jobs []job.Job, uploadErrors []string) {
	m := views.HomeModel{Layout: h.layout(w, r, "Transcribe"), MaxUploadBytes: h.cfg.MaxUploadBytes, UploadErrors: uploadErrors}
	for _, j := range jobs {
		m.Jobs = append(m.Jobs, viewJob(j))
	}
	h.render(w, r, status, views.HomePage(m))
}
