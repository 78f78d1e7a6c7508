package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"scribe/job"
	"scribe/store"
)

// maxTranscriptBytes caps a transcript PUT: an hour-long transcript with
// word timings is about 1 MB of JSON.
const maxTranscriptBytes = 8 << 20

var (
	errNoIfMatch = job.Errorf(job.CodeInvalid, "Send the ETag of the transcript you edited in an If-Match header, "+
		"so that your save cannot overwrite a newer version.")
	errTranscriptTooLarge = job.Errorf(job.CodeTooLarge, "The transcript is larger than 8 MB.")
)

// currentJSON is the current version sent with a 412, so a client can show
// it beside its own and save again over it.
type currentJSON struct {
	ETag       string      `json:"etag"`
	Transcript *job.Result `json:"transcript"`
}

// editTranscript saves a whole transcript (PUT /jobs/{id}/transcript.json,
// the JSON download's shape) as a new revision, if its If-Match names the
// current one. It answers the saved transcript and its ETag; 428 without
// If-Match, 412 with the current version when it is stale, 400 when the
// transcript is malformed.
func (h *Handler) editTranscript(w http.ResponseWriter, r *http.Request, u store.User) {
	// Only scripts call this route: errors are JSON whatever they accept.
	r.Header.Set("Accept", "application/json")
	j, err := h.Store.Job(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cur, err := h.Store.CurrentRevision(r.Context(), j.ID)
	if err != nil {
		h.fail(w, r, orConflict(err, "The transcript is not ready yet."))
		return
	}
	// Preconditions first, as RFC 9110 orders them: a stale save is refused
	// whatever its body.
	match := r.Header.Get("If-Match")
	if match == "" {
		writeJSON(w, http.StatusPreconditionRequired, map[string]string{"error": job.ErrorMessage(errNoIfMatch)})
		return
	}
	if !ifMatch(match, cur.ID) {
		h.stale(w, cur)
		return
	}
	sent, err := decodeTranscript(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	next, err := job.Revise(cur.Result, sent)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rev, err := h.Relay.Edit(r.Context(), u.ID, j.ID, cur.ID, next)
	if errors.Is(err, job.ErrStale) {
		// Another save landed since cur was read.
		if cur, err = h.Store.CurrentRevision(r.Context(), j.ID); err == nil {
			h.stale(w, cur)
			return
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", revisionETag(rev.ID))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, next)
}

// stale answers 412 with the current version of the transcript.
func (h *Handler) stale(w http.ResponseWriter, cur job.Revision) {
	w.Header().Set("ETag", revisionETag(cur.ID))
	writeJSON(w, http.StatusPreconditionFailed, struct {
		Error   string      `json:"error"`
		Current currentJSON `json:"current"`
	}{job.ErrorMessage(job.ErrStale), currentJSON{ETag: revisionETag(cur.ID), Transcript: cur.Result}})
}

// decodeTranscript reads a PUT body of at most maxTranscriptBytes. Fields
// other than the transcript's own (the download's job metadata) are
// ignored.
func decodeTranscript(w http.ResponseWriter, r *http.Request) (*job.Result, error) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTranscriptBytes))
	var sent job.Result
	err := dec.Decode(&sent)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("more follows the transcript")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, errTranscriptTooLarge
	case err != nil:
		return nil, job.Errorf(job.CodeInvalid, "The transcript is not valid JSON: "+err.Error()+".")
	}
	return &sent, nil
}
