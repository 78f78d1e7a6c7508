package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"scribe/job"
	"scribe/store"
)

var (
	errNothingSelected = job.Errorf(job.CodeInvalid, "Select the jobs to delete first.")
	errTooManySelected = job.Errorf(job.CodeInvalid, fmt.Sprintf("At most %d jobs can be deleted at once.", maxPageSize))
	errBadBulkDelete   = job.Errorf(job.CodeInvalid, `Send a JSON object {"ids": [...]} naming the jobs to delete.`)
)

// bulkDeleteJSON is the body of a bulk delete from a script, and its answer.
type bulkDeleteJSON struct {
	IDs []string `json:"ids"`
}

// deleteJobs deletes the selected jobs (POST /jobs/delete, form fields id
// or JSON {"ids"}), each through the relay as a single delete is. Ids
// that are not the user's jobs are skipped: another user's job is not
// found, as everywhere. Scripts get the ids deleted; the page goes back
// to where the form was. When one fails, the others may still have been
// deleted, as separate deletes would have been.
func (h *Handler) deleteJobs(w http.ResponseWriter, r *http.Request, u store.User) {
	ids, err := selectedIDs(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	deleted, err := h.deleteEach(r.Context(), u.ID, ids)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, bulkDeleteJSON{IDs: deleted})
		return
	}
	h.flash(w, r, "Deleted "+count(len(deleted), "job")+".")
	back := r.PostForm.Get("back")
	// Only a path of the list itself, so the form cannot redirect elsewhere.
	if back != "/" && !strings.HasPrefix(back, "/?") {
		back = "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// bulkDeleteWorkers is how many jobs of a bulk delete are deleted at once:
// each may wait up to 10 s for the upstream to delete its copy.
const bulkDeleteWorkers = 8

// deleteEach deletes each of ids that is userID's job through the relay,
// a few at a time, and returns those it deleted, in the order given.
func (h *Handler) deleteEach(ctx context.Context, userID int64, ids []string) ([]string, error) {
	errs := make([]error, len(ids))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(bulkDeleteWorkers, len(ids)) {
		wg.Go(func() {
			for i := range next {
				_, errs[i] = h.Relay.Delete(ctx, userID, ids[i])
			}
		})
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	deleted := []string{}
	for i, err := range errs {
		switch {
		case err == nil:
			deleted = append(deleted, ids[i])
		case !errors.Is(err, job.ErrNotFound):
			return nil, err
		}
	}
	return deleted, nil
}

// selectedIDs reads the ids of a bulk delete: distinct, at least one, at
// most maxPageSize.
func selectedIDs(w http.ResponseWriter, r *http.Request) ([]string, error) {
	var ids []string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var body bulkDeleteJSON
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxOrganiseBytes)).Decode(&body); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, errOrganiseTooLarge
			}
			return nil, errBadBulkDelete
		}
		ids = body.IDs
	} else {
		if err := parseSmallForm(w, r); err != nil {
			return nil, err
		}
		ids = r.PostForm["id"]
	}
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	switch {
	case len(out) == 0:
		return nil, errNothingSelected
	case len(out) > maxPageSize:
		return nil, errTooManySelected
	}
	return out, nil
}
