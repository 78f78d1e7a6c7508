package job

// Event names a change of a job that scribe tells its users' own webhook
// endpoints about, in the Standard Webhooks "type" field.
type Event string

// The events an endpoint may subscribe to, and the test event its owner
// sends by hand.
const (
	EventCompleted Event = "job.completed"
	EventFailed    Event = "job.failed"
	EventProgress  Event = "job.progress"
	EventTest      Event = "webhook.test"
)

// Events are the events an endpoint may subscribe to, in the order pages
// list them.
var Events = []Event{EventCompleted, EventFailed, EventProgress}

// Subscribable reports whether an endpoint may subscribe to e.
func (e Event) Subscribable() bool {
	return e == EventCompleted || e == EventFailed || e == EventProgress
}

// EventOf is the event a job's change from prev to next makes, if any: its
// final state when it reaches one, and progress while it is processing.
func EventOf(prev, next Job) (Event, bool) {
	switch {
	case next.Status == prev.Status && next.Status.Final():
		return "", false
	case next.Status == StatusCompleted:
		return EventCompleted, true
	case next.Status == StatusFailed:
		return EventFailed, true
	case next.Status == StatusProcessing && (prev.Status != StatusProcessing || next.Progress != prev.Progress):
		return EventProgress, true
	}
	return "", false
}
