package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"scribe/deepscript"
)

// queueFullRetryAfter is the Retry-After of a 429 for a full queue: long
// enough for a worker to take a job off it, short enough that a submitter
// waiting on it does not sit idle long after room opens.
const queueFullRetryAfter = 30 * time.Second

// apiError is a client-facing failure: the HTTP status and the contract's
// error code and message.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("engine: %d %s: %s", e.Status, e.Code, e.Message)
}

func invalidRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, deepscript.CodeInvalidRequest, fmt.Sprintf(format, args...)}
}

func notFound(what string) *apiError {
	return &apiError{http.StatusNotFound, deepscript.CodeNotFound, what + " not found"}
}

// apiErrorOf maps store errors to their contract answer; nil means the
// error is internal.
func apiErrorOf(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, errIdempotencyConflict):
		return &apiError{http.StatusConflict, deepscript.CodeConflict,
			"this Idempotency-Key was already used with a different file"}
	case errors.Is(err, errDuplicateURL):
		return &apiError{http.StatusConflict, deepscript.CodeConflict, "a webhook endpoint with this url is already registered"}
	case errors.Is(err, errInsufficientBalance):
		return &apiError{http.StatusPaymentRequired, deepscript.CodeInsufficientBalance,
			"the remaining balance is smaller than the duration of this audio"}
	case errors.Is(err, errQueueFull):
		return &apiError{http.StatusTooManyRequests, deepscript.CodeRateLimited,
			"too many transcriptions are waiting; try again after Retry-After seconds"}
	case errors.Is(err, errWebhookNotFound):
		return &apiError{http.StatusUnprocessableEntity, deepscript.CodeInvalidWebhookURL,
			"webhook_url must equal the url of an endpoint registered with POST /v1/webhooks"}
	}
	return nil
}

// writeError answers with err's contract status and code. Internal errors
// are logged with their detail and answered with a generic 500.
func (a *api) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := apiErrorOf(err)
	if ae == nil {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		ae = &apiError{http.StatusInternalServerError, deepscript.CodeInternal, "internal error"}
	}
	if ae.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int(queueFullRetryAfter/time.Second)))
	}
	writeJSON(w, ae.Status, deepscript.ErrorResponse{Error: deepscript.ErrorBody{Code: ae.Code, Message: ae.Message}})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		slog.Error("engine: unable to encode response", "error", err)
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n')) //nolint:errcheck // the client went away
}

// maxJSONBody caps every JSON request body.
const maxJSONBody = 64 << 10

// decodeJSON reads one JSON value from the body into dst.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err := dec.Decode(dst); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return invalidRequest("the request body is larger than %d bytes", maxJSONBody)
		}
		return invalidRequest("the request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return invalidRequest("the request body holds more than one JSON value")
	}
	return nil
}
