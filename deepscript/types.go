// Package deepscript holds the DeepScript API v1 contract (the types both
// sides exchange) and a client for it. The contract itself is described in
// docs/deepscript-api.md; docs/deepscript-choices.md records where we had
// to choose because the contract is silent.
package deepscript

import (
	"time"

	"scribe/job"
)

// Status is a transcription's lifecycle state. The contract's four states
// and their forward-only order are scribe's own, so the wire and the
// domain share one type.
type Status = job.Status

// The transcription states, in the order they may be reached.
const (
	StatusQueued     = job.StatusQueued
	StatusProcessing = job.StatusProcessing
	StatusCompleted  = job.StatusCompleted
	StatusFailed     = job.StatusFailed
)

// Transcription is the contract's transcription object. Result is set only
// on GET /v1/transcriptions/{id} once completed; the status endpoint and SSE
// events leave it nil.
type Transcription struct {
	ID        string     `json:"id"`
	Status    Status     `json:"status"`
	Progress  float64    `json:"progress"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	Duration  *float64   `json:"duration"`
	Language  string     `json:"language"`
	Metadata  string     `json:"metadata"`
	Error     *ErrorBody `json:"error"`
	Result    *Result    `json:"result"`
}

// Result is a finished transcript.
type Result struct {
	Text     string    `json:"text"`
	Language string    `json:"language"`
	Duration float64   `json:"duration"`
	Segments []Segment `json:"segments"`
}

// Segment is a stretch of speech; segments are in time order and do not
// overlap.
type Segment struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Text  string  `json:"text"`
	// Speaker labels who speaks ("S1", "S2", …) when the upstream tells
	// speakers apart; absent otherwise. An extension of the contract that
	// older peers ignore.
	Speaker string `json:"speaker,omitempty"`
	Words   []Word `json:"words"`
}

// Word is one recognised word with its timing in seconds.
type Word struct {
	Word       string  `json:"word"`
	Start      float64 `json:"start"`
	End        float64 `json:"end"`
	Confidence float64 `json:"confidence"`
}

// ErrorBody is the code and message of an API error or a failed job.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrorResponse is the body of every non-2xx API answer.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// Error codes used by the contract.
const (
	CodeInvalidRequest      = "invalid_request"
	CodeUnauthorized        = "unauthorized"
	CodeInsufficientBalance = "insufficient_balance"
	CodeNotFound            = "not_found"
	CodeConflict            = "conflict"
	CodeFileTooLarge        = "file_too_large"
	CodeUnsupportedMedia    = "unsupported_media"
	CodeInvalidWebhookURL   = "invalid_webhook_url"
	CodeRateLimited         = "rate_limited"
	CodeInternal            = "internal"
	CodeUnavailable         = "unavailable"
)

// Event types, used both as SSE event names and as webhook "event" values.
const (
	EventStatus     = "transcription.status"
	EventProgress   = "transcription.progress"
	EventCompleted  = "transcription.completed"
	EventFailed     = "transcription.failed"
	EventBalanceLow = "balance.low"
)

// WebhookEndpoint is a registered delivery URL. Secret is only set in the
// answer to its creation.
type WebhookEndpoint struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// WebhookEndpointList is the body of GET /v1/webhooks.
type WebhookEndpointList struct {
	Data []WebhookEndpoint `json:"data"`
}

// CreateWebhookRequest is the body of POST /v1/webhooks.
type CreateWebhookRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// WebhookEvent is the JSON body the upstream POSTs to a webhook endpoint.
type WebhookEvent struct {
	Event     string     `json:"event"`
	ID        string     `json:"id,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	Result    *Result    `json:"result,omitempty"`
	Error     *ErrorBody `json:"error,omitempty"`
	Balance   *Balance   `json:"balance,omitempty"`
}

// Balance is the payload of a balance.low event.
type Balance struct {
	RemainingSeconds float64 `json:"remaining_seconds"`
	ThresholdSeconds float64 `json:"threshold_seconds"`
}
