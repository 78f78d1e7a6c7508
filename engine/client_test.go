package engine

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"scribe/deepscript"
)

// TestContractClient drives the engine with the app's own DeepScript
// client, the way the app does in production.
func TestContractClient(t *testing.T) {
	e := startEngine(t, func(c *Config) { c.Recognizer = &scripted{perSecond: 50 * time.Millisecond} })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := deepscript.New(e.URL(), testAPIKey, nil)
	c.Logger = testLogger(t)

	rc := newReceiver(t)
	ep, err := c.CreateWebhook(ctx, rc.URL, []string{deepscript.EventCompleted, deepscript.EventFailed})
	if err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	rc.setSecret(ep.Secret)
	if _, err := c.CreateWebhook(ctx, rc.URL, []string{deepscript.EventCompleted}); !deepscript.IsConflict(err) {
		t.Errorf("second CreateWebhook: %v, want a conflict", err)
	}

	f, err := os.Open(clips.short)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := c.CreateTranscription(ctx, deepscript.CreateRequest{
		File: f, Filename: "short.wav", WebhookURL: rc.URL, Metadata: "j_1", IdempotencyKey: "j_1",
	})
	if err != nil {
		t.Fatalf("CreateTranscription: %v", err)
	}
	var events []deepscript.Event
	if err := c.StreamEvents(ctx, tr.ID, func(ev deepscript.Event) { events = append(events, ev) }); err != nil {
		t.Fatalf("StreamEvents: %v", err)
	}
	if n := len(events); n < 2 || events[n-1].Type != deepscript.EventCompleted {
		t.Fatalf("events %+v, want to end with completed", events)
	}
	full, err := c.Transcription(ctx, tr.ID)
	if err != nil || full.Result == nil || full.Metadata != "j_1" {
		t.Fatalf("Transcription: %+v, %v", full, err)
	}
	got := rc.waitFor(t, 1, 5*time.Second)[0]
	h := map[string][]string{"Webhook-Id": {got.ID}, "Webhook-Timestamp": {got.Timestamp}, "Webhook-Signature": {got.Signature}}
	if err := deepscript.VerifyWebhook(ep.Secret, h, got.Body, time.Now()); err != nil {
		t.Errorf("the app's verifier rejects the delivery: %v", err)
	}
	if err := c.StreamEvents(ctx, tr.ID, func(deepscript.Event) {}); err != nil && !errors.Is(err, deepscript.ErrNoEventStream) {
		t.Errorf("StreamEvents on a finished job: %v", err)
	}
	if err := c.DeleteTranscription(ctx, tr.ID); err != nil {
		t.Fatalf("DeleteTranscription: %v", err)
	}
	if _, err := c.Status(ctx, tr.ID); !deepscript.IsNotFound(err) {
		t.Errorf("Status after delete: %v, want not found", err)
	}
	list, err := c.ListWebhooks(ctx)
	if err != nil || len(list) != 1 || list[0].Secret != "" {
		t.Errorf("ListWebhooks: %+v, %v", list, err)
	}
	if err := c.DeleteWebhook(ctx, ep.ID); err != nil {
		t.Errorf("DeleteWebhook: %v", err)
	}
	if _, err := deepscript.New(e.URL(), "wrong", nil).ListWebhooks(ctx); !deepscript.IsUnauthorized(err) {
		t.Errorf("wrong key: %v, want unauthorized", err)
	}
}
