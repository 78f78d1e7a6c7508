package views

import "time"

// WebhooksModel is the page where a user manages their webhook endpoints.
type WebhooksModel struct {
	Layout
	Error     string   // why the last registration was refused
	URL       string   // echoed back after a refused registration
	Events    []string // the events ticked, echoed back likewise
	AllEvents []string // the events an endpoint may subscribe to
	// Created is the endpoint just registered, whose secret is shown this
	// once; nil otherwise.
	Created   *WebhookEndpoint
	Endpoints []WebhookEndpoint
}

// Ticked reports whether the form has event ticked.
func (m WebhooksModel) Ticked(event string) bool {
	for _, e := range m.Events {
		if e == event {
			return true
		}
	}
	return false
}

// WebhookEndpoint is one endpoint and its latest deliveries.
type WebhookEndpoint struct {
	ID         string
	URL        string
	Secret     string // only on the page that registered it
	Events     []string
	CreatedAt  time.Time
	Deliveries []WebhookDelivery
}

// WebhookDelivery is one event sent, or on its way, to an endpoint.
type WebhookDelivery struct {
	ID            int64
	MessageID     string // the webhook-id
	Event         string
	JobID         string // empty for a test event
	State         string // pending | delivered | failed
	Attempts      int
	LastStatus    int // HTTP status of the last attempt; 0 when none came
	LastError     string
	LastAttemptAt time.Time
	NextAttemptAt time.Time // zero unless pending
}
