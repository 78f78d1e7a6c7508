package engine

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"scribe/deepscript"
)

// checkSequence checks ids grow by one from first and progress never
// decreases.
func checkSequence(t *testing.T, events []sseEvent, first int) {
	t.Helper()
	var progress float64
	for i, ev := range events {
		if got, want := ev.ID, strconv.Itoa(first+i); got != want {
			t.Errorf("event %d (%s): id %s, want %s", i, ev.Event, got, want)
		}
		if ev.Data.Progress < progress {
			t.Errorf("event %s: progress %v after %v", ev.ID, ev.Data.Progress, progress)
		}
		progress = ev.Data.Progress
		if ev.Data.Result != nil {
			t.Errorf("event %s carries a result", ev.ID)
		}
	}
}

func TestEventsStream(t *testing.T) { onBothBackends(t, testEventsStream) }

func testEventsStream(t *testing.T) {
	// ~2.5 s of audio at 150 ms per second: a few progress events.
	e := startEngine(t, func(c *Config) { c.Recognizer = &scripted{perSecond: 300 * time.Millisecond} })
	tr := e.mustSubmit(clips.short, nil)
	res := e.readEvents(tr.ID, "", 10*time.Second, nil)

	t.Run("Headers", func(t *testing.T) {
		if res.Status != http.StatusOK {
			t.Fatalf("status %d", res.Status)
		}
		for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"} {
			if got := res.Header.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		if res.Retry != "2000" {
			t.Errorf("retry %q, want 2000", res.Retry)
		}
	})
	t.Run("Sequence", func(t *testing.T) {
		if len(res.Events) < 4 {
			t.Fatalf("events %+v: want current state, processing, progress…, completed", res.Events)
		}
		first, _ := strconv.Atoi(res.Events[0].ID)
		checkSequence(t, res.Events, first)
		types := map[string]int{}
		for _, ev := range res.Events {
			types[ev.Event]++
			if ev.Data.ID != tr.ID {
				t.Errorf("event for %s, want %s", ev.Data.ID, tr.ID)
			}
		}
		if types[deepscript.EventProgress] < 1 || types[deepscript.EventStatus] < 1 {
			t.Errorf("event types %v: want status and progress events", types)
		}
		last := res.Events[len(res.Events)-1]
		if last.Event != deepscript.EventCompleted || last.Data.Status != deepscript.StatusCompleted || last.Data.Progress != 1 {
			t.Errorf("last event %+v, want completed at progress 1 (the stream then closes)", last)
		}
	})

	full := e.readEvents(tr.ID, "0", 5*time.Second, nil)
	t.Run("ReplayAll", func(t *testing.T) {
		if len(full.Events) < 4 || full.Events[0].ID != "1" || full.Events[0].Data.Status != deepscript.StatusQueued {
			t.Fatalf("replay from 0: %+v, want every event from id 1 (queued)", full.Events)
		}
		checkSequence(t, full.Events, 1)
	})
	t.Run("ReplayAfter", func(t *testing.T) {
		got := e.readEvents(tr.ID, "2", 5*time.Second, nil)
		if len(got.Events) != len(full.Events)-2 {
			t.Fatalf("replay after 2: %d events, want %d", len(got.Events), len(full.Events)-2)
		}
		checkSequence(t, got.Events, 3)
	})
	t.Run("FinishedNoLastEventID", func(t *testing.T) {
		got := e.readEvents(tr.ID, "", 5*time.Second, nil)
		if len(got.Events) != 1 || got.Events[0].Event != deepscript.EventCompleted || got.Events[0].ID != full.Events[len(full.Events)-1].ID {
			t.Errorf("late subscriber: %+v, want the final event once", got.Events)
		}
	})
	t.Run("AtFinalEvent", func(t *testing.T) {
		got := e.readEvents(tr.ID, full.Events[len(full.Events)-1].ID, 5*time.Second, nil)
		if got.Status != http.StatusNoContent || len(got.Events) != 0 {
			t.Errorf("reconnect after the final event: %d %+v, want 204", got.Status, got.Events)
		}
	})
	for name, id := range map[string]string{"NonNumeric": "abc", "Negative": "-3", "Future": "999"} {
		t.Run(name, func(t *testing.T) {
			got := e.readEvents(tr.ID, id, 5*time.Second, nil)
			if got.Status != http.StatusOK || len(got.Events) != 1 || got.Events[0].Event != deepscript.EventCompleted {
				t.Errorf("Last-Event-ID %q: %d %+v, want the current state", id, got.Status, got.Events)
			}
		})
	}
}

func TestEventsResumeLive(t *testing.T) { onBothBackends(t, testEventsResumeLive) }

func testEventsResumeLive(t *testing.T) {
	gate := make(chan struct{})
	e := startEngine(t, func(c *Config) {
		c.Recognizer = &scripted{perSecond: 100 * time.Millisecond, gate: gate}
		c.PingInterval = 50 * time.Millisecond
	})
	tr := e.mustSubmit(clips.ten, nil)
	// Read until the first progress event, then drop the connection.
	first := e.readEvents(tr.ID, "", 10*time.Second, func(ev sseEvent) bool { return ev.Event == deepscript.EventProgress })
	if n := len(first.Events); n == 0 || first.Events[n-1].Event != deepscript.EventProgress {
		t.Fatalf("first connection: %+v", first.Events)
	}
	lastID := first.Events[len(first.Events)-1].ID

	// The recognizer is now blocked at the gate: the stream stays open and
	// pings. Release it once a ping has arrived.
	go func() {
		time.Sleep(300 * time.Millisecond)
		close(gate)
	}()
	second := e.readEvents(tr.ID, lastID, 10*time.Second, nil)
	if len(second.Comments) == 0 || second.Comments[0] != "ping" {
		t.Errorf("comments %q, want pings while the job is quiet", second.Comments)
	}
	n, _ := strconv.Atoi(lastID)
	checkSequence(t, second.Events, n+1)
	if len(second.Events) == 0 || second.Events[len(second.Events)-1].Event != deepscript.EventCompleted {
		t.Fatalf("resumed stream %+v, want it to end with completed", second.Events)
	}
	if p := second.Events[0].Data.Progress; p < first.Events[len(first.Events)-1].Data.Progress {
		t.Errorf("progress went back from %v to %v across the reconnect", first.Events[len(first.Events)-1].Data.Progress, p)
	}
}

func TestEventsSlowSubscriberDropped(t *testing.T) {
	h := newHub()
	slow := h.Subscribe("tr_1")
	fast := h.Subscribe("tr_1")
	done := make(chan int)
	go func() {
		n := 0
		for range fast.Events {
			n++
		}
		done <- n
	}()
	for i := range subscriberBuffer + 5 {
		h.Publish(jobEvent{TranscriptionID: "tr_1", Seq: int64(i + 1)})
		time.Sleep(time.Millisecond)
	}
	// The slow one was dropped: its channel holds a full buffer, then ends.
	n := 0
	for range slow.Events {
		n++
	}
	if n != subscriberBuffer {
		t.Errorf("slow subscriber got %d events before being dropped, want %d", n, subscriberBuffer)
	}
	h.Close()
	if got := <-done; got != subscriberBuffer+5 {
		t.Errorf("fast subscriber got %d events, want %d", got, subscriberBuffer+5)
	}
	if sub := h.Subscribe("tr_1"); func() bool { _, ok := <-sub.Events; return ok }() {
		t.Error("subscription after Close is open")
	}
}
