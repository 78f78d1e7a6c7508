package deepscript

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxErrorBody caps how much of an error answer is read; the contract's
// error body is a few hundred bytes.
const maxErrorBody = 64 << 10

// APIError is a non-2xx answer from the API.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the contract's snake_case code, or "" when the body was not
	// the contract's JSON (a proxy's HTML page, say).
	Code string
	// Message is the server's human text, or the start of a non-JSON body.
	Message string
	// RetryAfter is the server's Retry-After, or 0 when absent.
	RetryAfter time.Duration
}

// Error describes the failure with the prefix deepscript.
func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = strings.ToLower(strings.ReplaceAll(http.StatusText(e.StatusCode), " ", "_"))
	}
	if e.Message == "" {
		return fmt.Sprintf("deepscript: %d %s", e.StatusCode, code)
	}
	return fmt.Sprintf("deepscript: %d %s: %s", e.StatusCode, code, e.Message)
}

// Temporary reports whether the same request may succeed later: 408, 429
// and 5xx. Other 4xx answers will not change on retry.
func (e *APIError) Temporary() bool {
	return e.StatusCode == http.StatusRequestTimeout ||
		e.StatusCode == http.StatusTooManyRequests ||
		e.StatusCode >= 500
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is a 409 answer (a webhook URL already
// registered, or an Idempotency-Key reused with a different file).
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// IsUnauthorized reports whether err is a 401 answer (missing or wrong key).
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

func hasStatus(err error, status int) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == status
}

// newAPIError reads (at most maxErrorBody of) a non-2xx answer into an
// APIError and closes the body. A body that is not the contract's JSON is
// kept, shortened, as the message.
func newAPIError(resp *http.Response, now time.Time) *APIError {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{
		StatusCode: resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now),
	}
	var er ErrorResponse
	if json.Unmarshal(body, &er) == nil && (er.Error.Code != "" || er.Error.Message != "") {
		e.Code, e.Message = er.Error.Code, er.Error.Message
		return e
	}
	msg := strings.TrimSpace(strings.ToValidUTF8(string(body), "?"))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	e.Message = msg
	return e
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date; a
// missing or unreadable value is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		// Cap absurd values rather than overflowing time.Duration.
		return time.Duration(min(secs, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
