package deepscripttest

import "time"

// Plan is one job's fate and the faults injected around it. The zero value
// completes after 300 ms, delivers its webhook once and streams normally.
type Plan struct {
	Fail      bool          // end failed (ErrorCode) instead of completed
	ErrorCode string        // for a failed job; "internal" when empty
	Duration  time.Duration // create to final; 300 ms when zero
	Segments  int           // segments in the result; 2 when zero
	Hold      bool          // stay processing until released (Server.Release)

	SubmitRefusal  int           // answer every submit with this status (402, 413, 415)
	SubmitFailures []SubmitFault // the first attempts fail like this, in order
	SubmitHang     bool          // create the job on the first attempt, then never answer it

	Webhook    WebhookMode
	Forge      []DeliveryKind // forgeries sent while processing, claiming the opposite fate
	LateReplay bool           // deliver the final webhook-id once more, late

	SSE SSEMode

	StatusErrors  int // the first polls of /status answer 500
	StatusLimited int // the next polls answer 429 with Retry-After: 1
}

// SubmitFault is how one submit attempt fails.
type SubmitFault string

// The submit faults.
const (
	Submit500        SubmitFault = "500"
	Submit503        SubmitFault = "503"         // with Retry-After: 1
	Submit429        SubmitFault = "429"         // with Retry-After: 1
	SubmitReset      SubmitFault = "reset"       // connection reset, nothing created
	SubmitLostAnswer SubmitFault = "lost_answer" // job created, then the connection is reset
)

// WebhookMode is how the final event's webhook is delivered.
type WebhookMode string

// The webhook modes.
const (
	WebhookDeliver    WebhookMode = ""           // once, retried on failure
	WebhookDrop       WebhookMode = "drop"       // never
	WebhookTwice      WebhookMode = "twice"      // twice in a row, same webhook-id
	WebhookConcurrent WebhookMode = "concurrent" // twice at once, same webhook-id
)

// DeliveryKind tells webhook deliveries apart: genuine ones, and the
// forgeries a receiver must refuse with 401.
type DeliveryKind string

// The delivery kinds. ForgedSignature, StaleTimestamp and FutureTimestamp
// are forgeries a Plan may ask for.
const (
	Genuine         DeliveryKind = "genuine"
	Replay          DeliveryKind = "replay" // a genuine delivery's webhook-id, once more, late
	ForgedSignature DeliveryKind = "forged" // signed with another secret
	StaleTimestamp  DeliveryKind = "stale"  // right secret, timestamp 400 s old
	FutureTimestamp DeliveryKind = "future" // right secret, timestamp 400 s ahead
)

// Forged reports whether a delivery of this kind must be refused.
func (k DeliveryKind) Forged() bool { return k != Genuine && k != Replay }

// SSEMode is how a job's event stream misbehaves; the zero value streams
// as the contract says.
type SSEMode string

// The ways a stream misbehaves.
const (
	SSECutOnce   SSEMode = "cut_once"   // the first connection is reset after the current state
	SSENoFinal   SSEMode = "no_final"   // every connection ends cleanly just before the final event
	SSEGaps      SSEMode = "gaps"       // even-numbered progress events are never sent
	SSEReplayAll SSEMode = "replay_all" // ignore Last-Event-ID: replay the whole history, old states included
)
