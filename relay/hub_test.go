package relay

import (
	"testing"
	"time"

	"scribe/job"
	"scribe/metrics"
)

// TestSlowSubscriberDropped shows a browser that stops reading neither
// blocks publishing nor delays other browsers: it is dropped (and will
// resume from Last-Event-ID), while the others get every change.
func TestSlowSubscriberDropped(t *testing.T) {
	h := hub{subs: map[*Subscription]struct{}{}, perUser: map[int64]int{}}
	m := metrics.New()
	stalled, _ := h.subscribe(1, 0, m)
	live, _ := h.subscribe(1, 0, m)
	other, _ := h.subscribe(2, 0, m)
	defer live.Close()
	defer other.Close()

	// The live browser reads each change as it comes; the stalled one never
	// reads. Publishing must never wait for the stalled one.
	const n = 10 * subscriberBuffer
	for i := range n {
		h.publish(Change{Job: job.Job{ID: "j", UserID: 1, Seq: int64(i + 1)}})
		select {
		case c, ok := <-live.C:
			if !ok || c.Job.Seq != int64(i+1) {
				t.Fatalf("live subscriber got %+v (open=%v), want seq %d", c, ok, i+1)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("live subscriber waited over 2 s for change %d", i+1)
		}
	}
	drained := 0
	for range stalled.C {
		drained++
	}
	if drained != subscriberBuffer {
		t.Fatalf("stalled subscriber: %d buffered before being dropped, want %d", drained, subscriberBuffer)
	}
	select {
	case j, ok := <-other.C:
		t.Fatalf("another user's subscriber received %+v (open=%v)", j, ok)
	default:
	}
	stalled.Close() // closing a dropped subscription again is safe
}

// TestStreamsPerUser refuses a user's subscription over the limit, counts
// only that user's, and frees a place when one closes.
func TestStreamsPerUser(t *testing.T) {
	h := hub{subs: map[*Subscription]struct{}{}, perUser: map[int64]int{}}
	m := metrics.New()
	a1, err := h.subscribe(1, 2, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.subscribe(1, 2, m); err != nil {
		t.Fatal(err)
	}
	if _, err := h.subscribe(1, 2, m); err != ErrTooManyStreams {
		t.Fatalf("third stream: %v, want ErrTooManyStreams", err)
	}
	if _, err := h.subscribe(2, 2, m); err != nil {
		t.Fatalf("another user's stream refused: %v", err)
	}
	a1.Close()
	a1.Close()
	if _, err := h.subscribe(1, 2, m); err != nil {
		t.Fatalf("stream after one closed: %v", err)
	}
}
