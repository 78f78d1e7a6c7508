package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"scribe/job"
	"scribe/views"
)

// statusOf maps each error code to its HTTP status.
var statusOf = map[job.Code]int{
	job.CodeInvalid:         http.StatusBadRequest,
	job.CodeNotFound:        http.StatusNotFound,
	job.CodeConflict:        http.StatusConflict,
	job.CodeTooLarge:        http.StatusRequestEntityTooLarge,
	job.CodeUnsupported:     http.StatusUnsupportedMediaType,
	job.CodeUnauthorized:    http.StatusUnauthorized,
	job.CodeNoSpace:         http.StatusInsufficientStorage,
	job.CodeTooManyRequests: http.StatusTooManyRequests,
	job.CodeForbidden:       http.StatusForbidden,
	job.CodeBusy:            http.StatusServiceUnavailable,
	job.CodeInternal:        http.StatusInternalServerError,
}

var errUnauthorized = job.Errorf(job.CodeUnauthorized, "Please sign in first.")

// errTooLarge is a request body over its limit.
var errTooLarge = job.Errorf(job.CodeTooLarge, "The upload is larger than this server accepts.")

// errPanicked answers a request whose handler panicked: a generic 500,
// not logged again, as recovery has logged the panic and its stack.
var errPanicked = job.Errorf(job.CodeInternal, job.ErrorMessage(errors.New("panic")))

// fail is the one error path: a coded error maps to a status and its
// message; anything else is logged and shown as a generic 500.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		err = errTooLarge
	}
	code := job.ErrorCode(err)
	status, message := statusOf[code], job.ErrorMessage(err)
	if code == job.CodeInternal && err != errPanicked {
		h.Log.Error("handlers: internal error", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	setRetryAfter(w, err)
	if wantsJSON(r) || r.Header.Get("Accept") == "text/event-stream" {
		writeJSON(w, status, map[string]string{"error": message})
		return
	}
	l := h.layout(w, r, http.StatusText(status))
	h.render(w, r, status, views.ErrorPage(views.ErrorModel{Layout: l, Status: status, Message: message}))
}

// formFailed shows a form again with err's message and status; an internal
// error takes the one error path instead.
func (h *Handler) formFailed(w http.ResponseWriter, r *http.Request, err error, show func(status int, message string)) {
	code := job.ErrorCode(err)
	if code == job.CodeInternal {
		h.fail(w, r, err)
		return
	}
	setRetryAfter(w, err)
	show(statusOf[code], job.ErrorMessage(err))
}

// retryLater is a refusal worth trying again after a while: fail and
// formFailed send its Retry-After.
type retryLater struct {
	error
	after time.Duration
}

func (e retryLater) Unwrap() error { return e.error }

func setRetryAfter(w http.ResponseWriter, err error) {
	var rl retryLater
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rl.after.Seconds()))))
	}
}

// tooManyAttempts is the throttle's answer: wait d.
func tooManyAttempts(d time.Duration) error {
	in := count(int(math.Ceil(d.Seconds())), "second")
	if d > 90*time.Second {
		in = count(int(math.Ceil(d.Minutes())), "minute")
	}
	return retryLater{job.Errorf(job.CodeTooManyRequests, "Too many attempts. Try again in "+in+"."), d}
}

// count is "1 unit" or "n units".
func count(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, job.ErrNotFound)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
