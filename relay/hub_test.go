package relay

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"scribe/job"
	"scribe/metrics"
)

// TestSlowSubscriberDropped shows a browser that stops reading neither
// blocks publishing nor delays other browsers: once the changes it missed
// are no longer kept it is told so (and will resume from Last-Event-ID),
// while the others get every change.
func TestSlowSubscriberDropped(t *testing.T) {
	h := newHub(metrics.New())
	stalled, _ := h.subscribe(1, 0)
	live, _ := h.subscribe(1, 0)
	other, _ := h.subscribe(2, 0)
	defer live.Close()
	defer other.Close()

	const n = 10 * ringSize
	for i := range n {
		changed := live.Changed()
		h.publish(&Change{Job: job.Job{ID: "j", UserID: 1, Seq: int64(i + 1)}})
		select {
		case <-changed:
		default:
			t.Fatalf("change %d: the live subscriber was not woken", i+1)
		}
		c, err := live.Next()
		if err != nil || c == nil || c.Job.Seq != int64(i+1) {
			t.Fatalf("live subscriber got %+v, %v; want seq %d", c, err, i+1)
		}
	}
	if c, err := stalled.Next(); !errors.Is(err, ErrFellBehind) {
		t.Fatalf("stalled subscriber: %+v, %v; want ErrFellBehind", c, err)
	}
	if c, err := other.Next(); c != nil || err != nil {
		t.Fatalf("another user's subscriber received %+v, %v", c, err)
	}
	stalled.Close()
	stalled.Close() // closing again is safe
}

// TestLateChangeLeftOut shows an older state of a job, published after a
// newer one, never reaches a stream.
func TestLateChangeLeftOut(t *testing.T) {
	h := newHub(metrics.New())
	s, _ := h.subscribe(1, 0)
	defer s.Close()
	for _, seq := range []int64{5, 3, 7} {
		h.publish(&Change{Job: job.Job{ID: "j", UserID: 1, Seq: seq}})
	}
	h.publish(&Change{Job: job.Job{ID: "k", UserID: 1, Seq: 4}}) // another job: not late
	var got []int64
	for {
		c, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		if c == nil {
			break
		}
		got = append(got, c.Job.Seq)
	}
	if want := []int64{5, 7, 4}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("read seqs %v, want %v", got, want)
	}
}

// TestEncodedOnce shows many streams asking for a change's encoding at
// once share one encoding per form.
func TestEncodedOnce(t *testing.T) {
	c := &Change{Job: job.Job{ID: "j", Seq: 1}}
	var calls atomic.Int32
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			form := i % 2
			data, err := c.Encoded(form, func() ([]byte, error) {
				calls.Add(1)
				return []byte{byte(form)}, nil
			})
			if err != nil || len(data) != 1 || int(data[0]) != form {
				t.Errorf("form %d: %v, %v", form, data, err)
			}
		})
	}
	wg.Wait()
	if got, want := calls.Load(), int32(2); got != want {
		t.Fatalf("encoded %d times, want %d (once per form)", got, want)
	}
	if _, err := c.Encoded(3, func() ([]byte, error) { return nil, errors.New("down") }); err == nil {
		t.Fatal("a failed encoding reported no error")
	}
	if data, err := c.Encoded(3, func() ([]byte, error) { return []byte("ok"), nil }); err != nil || string(data) != "ok" {
		t.Fatalf("after a failure the next try got %q, %v", data, err)
	}
}

// TestStopEndsSubscriptions shows the relay's stop wakes every stream and
// ends it, and ends those that subscribe after.
func TestStopEndsSubscriptions(t *testing.T) {
	h := newHub(metrics.New())
	s, _ := h.subscribe(1, 0)
	changed := s.Changed()
	h.closeAll()
	select {
	case <-changed:
	default:
		t.Fatal("stopping woke no one")
	}
	if _, err := s.Next(); !errors.Is(err, ErrStopped) {
		t.Fatalf("after stop: %v, want ErrStopped", err)
	}
	late, _ := h.subscribe(2, 0)
	if _, err := late.Next(); !errors.Is(err, ErrStopped) {
		t.Fatalf("subscribed after stop: %v, want ErrStopped", err)
	}
}

// TestStreamsPerUser refuses a user's subscription over the limit, counts
// only that user's, and frees a place when one closes.
func TestStreamsPerUser(t *testing.T) {
	h := newHub(metrics.New())
	a1, err := h.subscribe(1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.subscribe(1, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := h.subscribe(1, 2); err != ErrTooManyStreams {
		t.Fatalf("third stream: %v, want ErrTooManyStreams", err)
	}
	if _, err := h.subscribe(2, 2); err != nil {
		t.Fatalf("another user's stream refused: %v", err)
	}
	a1.Close()
	a1.Close()
	if _, err := h.subscribe(1, 2); err != nil {
		t.Fatalf("stream after one closed: %v", err)
	}
}
