package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"scribe/job"
	"scribe/store"
)

// maxOrganiseBytes caps the body of a rename, retag or bulk delete.
const maxOrganiseBytes = 64 << 10

var errOrganiseTooLarge = job.Errorf(job.CodeTooLarge, "The request is larger than 64 KiB.")

var errBadOrganise = job.Errorf(job.CodeInvalid,
	`Send a JSON object with "name" (a string) and/or "tags" (a list of strings).`)

// organiseJSON is the body of PATCH /jobs/{id}; a field left out is kept.
type organiseJSON struct {
	Name *string   `json:"name"`
	Tags *[]string `json:"tags"`
}

// patchJob renames and retags a job (PATCH /jobs/{id}, JSON {"name",
// "tags"}; tags replace the job's) and answers the job.
func (h *Handler) patchJob(w http.ResponseWriter, r *http.Request, u store.User) {
	// Only scripts call this route: errors are JSON whatever they accept.
	r.Header.Set("Accept", "application/json")
	if !h.ownsJob(w, r, u) {
		return
	}
	var body organiseJSON
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxOrganiseBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			err = errOrganiseTooLarge
		} else {
			err = errBadOrganise
		}
		h.fail(w, r, err)
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		h.fail(w, r, errBadOrganise)
		return
	}
	j, err := h.Relay.Organise(r.Context(), u.ID, r.PathValue("id"), job.Organise{Name: body.Name, Tags: body.Tags})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toJSON(j))
}

// renameJob gives a job a new name (POST /jobs/{id}/rename, form field
// name); its filename stays as uploaded.
func (h *Handler) renameJob(w http.ResponseWriter, r *http.Request, u store.User) {
	if !h.ownsJob(w, r, u) {
		return
	}
	if err := parseSmallForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	name := r.PostForm.Get("name")
	h.organise(w, r, u, job.Organise{Name: &name}, "Renamed to ")
}

// tagJob adds and removes a job's tags (POST /jobs/{id}/tags, form fields
// add, tags separated by commas, and remove, one tag).
func (h *Handler) tagJob(w http.ResponseWriter, r *http.Request, u store.User) {
	if !h.ownsJob(w, r, u) {
		return
	}
	if err := parseSmallForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	var o job.Organise
	if add := r.PostForm.Get("add"); strings.TrimSpace(add) != "" {
		o.Add = strings.Split(add, ",")
	}
	if remove := r.PostForm.Get("remove"); remove != "" {
		o.Remove = []string{remove}
	}
	if o.Add == nil && o.Remove == nil {
		h.fail(w, r, job.Errorf(job.CodeInvalid, "Type a tag to add."))
		return
	}
	h.organise(w, r, u, o, "Tags saved for ")
}

// organise applies o and goes back to the job's page, or answers the job
// to a script.
func (h *Handler) organise(w http.ResponseWriter, r *http.Request, u store.User, o job.Organise, done string) {
	j, err := h.Relay.Organise(r.Context(), u.ID, r.PathValue("id"), o)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, toJSON(j))
		return
	}
	h.flash(w, r, done+j.Name+".")
	http.Redirect(w, r, "/jobs/"+j.ID, http.StatusSeeOther)
}

// ownsJob reports whether the job of the request's path is u's, and
// answers 404 when it is not, before its body is judged.
func (h *Handler) ownsJob(w http.ResponseWriter, r *http.Request, u store.User) bool {
	if _, err := h.Store.Job(r.Context(), u.ID, r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return false
	}
	return true
}

// parseSmallForm reads a form body of at most maxOrganiseBytes.
func parseSmallForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxOrganiseBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errOrganiseTooLarge
		}
		return job.Errorf(job.CodeInvalid, "The form could not be read.")
	}
	return nil
}
