package handlers

import (
	"encoding/json"
	"errors"
	"net/http"

	"scribe/store"
	"scribe/views"
)

// clientError is a request problem with a status and a message for a person.
type clientError struct {
	status  int
	message string
}

func (e *clientError) Error() string { return e.message }

func newError(status int, message string) error { return &clientError{status, message} }

var errUnauthorized = newError(http.StatusUnauthorized, "Please sign in first.")

// errPanicked answers a request whose handler panicked: a generic 500,
// not logged again, as recovery has logged the panic and its stack.
var errPanicked = newError(http.StatusInternalServerError, errInternalMessage)

// errInternalMessage is all a person sees of a failure on our side.
const errInternalMessage = "Something went wrong on our side. Please try again."

// fail is the one error path: domain errors map to a status and a message;
// anything else is logged and shown as a generic 500.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, message := http.StatusInternalServerError, errInternalMessage
	var ce *clientError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &ce):
		status, message = ce.status, ce.message
	case errors.Is(err, store.ErrNotFound):
		status, message = http.StatusNotFound, "There is no such page or job."
	case errors.As(err, &tooBig):
		status, message = http.StatusRequestEntityTooLarge, "The upload is larger than this server accepts."
	default:
		h.Log.Error("handlers: internal error", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if wantsJSON(r) || r.Header.Get("Accept") == "text/event-stream" {
		writeJSON(w, status, map[string]string{"error": message})
		return
	}
	l := h.layout(w, r, http.StatusText(status))
	h.render(w, r, status, views.ErrorPage{Layout: l, Status: status, Message: message})
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, store.ErrNotFound)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
