package engine

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
)

// deleteTranscription is DELETE /v1/transcriptions/{id}: stop it if it
// runs, forget it and remove its audio.
func (a *api) deleteTranscription(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	audioPath, err := a.store.DeleteTranscription(r.Context(), id)
	if err != nil {
		a.writeError(w, r, storeNotFound(err, "transcription"))
		return
	}
	a.workers.Cancel(id)
	a.hub.CloseJob(id)
	if err := os.Remove(audioFile(a.audioDir, audioPath)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		a.log.Error("unable to remove audio", "transcription_id", id, "error", err)
	}
	a.log.Info("transcription deleted", "transcription_id", id)
	w.WriteHeader(http.StatusNoContent)
}

// storeNotFound turns the store's errNotFound into the contract's 404.
func storeNotFound(err error, what string) error {
	if errors.Is(err, errNotFound) {
		return notFound(what)
	}
	return err
}
