package engine

import (
	"net/http"
)

// showTranscription is GET /v1/transcriptions/{id}: the object with its
// result once completed.
func (a *api) showTranscription(w http.ResponseWriter, r *http.Request) {
	a.writeTranscription(w, r, true)
}

// showTranscriptionStatus is GET /v1/transcriptions/{id}/status: the same
// object without the result, cheap for polling.
func (a *api) showTranscriptionStatus(w http.ResponseWriter, r *http.Request) {
	a.writeTranscription(w, r, false)
}

func (a *api) writeTranscription(w http.ResponseWriter, r *http.Request, withResult bool) {
	t, err := a.store.Transcription(r.Context(), r.PathValue("id"), withResult)
	if err != nil {
		a.writeError(w, r, storeNotFound(err, "transcription"))
		return
	}
	writeJSON(w, http.StatusOK, t)
}
