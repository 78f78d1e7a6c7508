package handlers

import (
	"encoding/json"
	"errors"
	"net/http"

	"scribe/job"
	"scribe/views"
)

// statusOf maps each error code to its HTTP status.
var statusOf = map[job.Code]int{
	job.CodeInvalid:      http.StatusBadRequest,
	job.CodeNotFound:     http.StatusNotFound,
	job.CodeConflict:     http.StatusConflict,
	job.CodeTooLarge:     http.StatusRequestEntityTooLarge,
	job.CodeUnsupported:  http.StatusUnsupportedMediaType,
	job.CodeUnauthorized: http.StatusUnauthorized,
	job.CodeForbidden:    http.StatusForbidden,
	job.CodeTooMany:      http.StatusTooManyRequests,
	job.CodeBusy:         http.StatusServiceUnavailable,
	job.CodeInternal:     http.StatusInternalServerError,
}

var errUnauthorized = job.Errorf(job.CodeUnauthorized, "Please sign in first.")

// errTooLarge is a request body over its limit.
var errTooLarge = job.Errorf(job.CodeTooLarge, "The upload is larger than this server accepts.")

// fail is the one error path: a coded error maps to a status and its
// message; anything else is logged and shown as a generic 500.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		err = errTooLarge
	}
	code := job.ErrorCode(err)
	status, message := statusOf[code], job.ErrorMessage(err)
	if code == job.CodeInternal {
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
	h.fail(w, r, job.ErrNotFound)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
