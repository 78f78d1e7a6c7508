package job

import "errors"

// Code classifies an error for whoever reports it: handlers map each to an
// HTTP status and a page or JSON body.
type Code string

// The error codes.
const (
	CodeInvalid         Code = "invalid"           // the request is malformed
	CodeNotFound        Code = "not_found"         // no such thing, or not the caller's
	CodeConflict        Code = "conflict"          // the thing is not in a state that allows it
	CodeTooLarge        Code = "too_large"         // over a size limit
	CodeUnsupported     Code = "unsupported"       // a file we cannot read
	CodeUnauthorized    Code = "unauthorized"      // not signed in
	CodeNoSpace         Code = "no_space"          // the server's disk is full
	CodeTooManyRequests Code = "too_many_requests" // over a rate or a quota
	CodeForbidden       Code = "forbidden"         // signed in, or not, but not allowed
	CodeBusy            Code = "busy"              // the server is at capacity; retry shortly
	CodeInternal        Code = "internal"          // our failure; details are logged, not shown
)

// Error is a failure with a code and a message a person understands.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with code and message.
func Errorf(code Code, message string) error { return &Error{Code: code, Message: message} }

// Sentinel errors for the store's common answers.
var (
	ErrNotFound = &Error{Code: CodeNotFound, Message: "There is no such page or job."}
	ErrConflict = &Error{Code: CodeConflict, Message: "That cannot be done in the job's current state."}
	ErrNoSpace  = &Error{Code: CodeNoSpace, Message: "The server has run out of storage space, so this was not saved. " +
		"Everything saved before is safe; please try again later."}
	// ErrStale is a save against a revision of a transcript that is no
	// longer the current one: it changed nothing.
	ErrStale = &Error{Code: CodeConflict, Message: "The transcript was changed since you opened it; nothing was saved."}
)

// ErrorCode is err's code: CodeInternal for any error that is not an *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage is what a person may read of err; an internal error's
// details are never shown.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong on our side. Please try again."
}
