package engine

import (
	"net/http"
	"time"

	"scribe/eventstream"
)

// sseRetry is the reconnect delay sent once to each client.
const sseRetry = 2 * time.Second

// streamTranscriptionEvents is GET /v1/transcriptions/{id}/events: the
// job's events as Server-Sent Events. It sends the current state first (or,
// with Last-Event-ID, every stored event after it), then live events, and
// closes after the final one. A reconnect with Last-Event-ID at the final
// event of a finished job gets 204, which tells EventSource to stop.
func (a *api) streamTranscriptionEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	after, resume := eventstream.LastEventID(r)

	// Subscribe before reading the history so no event falls between the
	// two; duplicates are skipped by seq.
	sub := a.hub.Subscribe(id)
	defer a.hub.Unsubscribe(id, sub)

	last, err := a.store.LastEvent(ctx, id)
	if err != nil {
		a.writeError(w, r, storeNotFound(err, "transcription"))
		return
	}
	var backlog []jobEvent
	switch {
	case resume && after == last.Seq && last.final():
		w.WriteHeader(http.StatusNoContent)
		return
	case resume && after <= last.Seq:
		if backlog, err = a.store.EventsAfter(ctx, id, after); err != nil {
			a.writeError(w, r, err)
			return
		}
	default:
		// No (usable) Last-Event-ID: the current state, as one event.
		backlog, after = []jobEvent{last}, 0
	}

	stream, err := eventstream.Start(w, sseRetry)
	if err != nil {
		return
	}
	sent := after
	send := func(events []jobEvent) (done bool, err error) {
		for _, ev := range events {
			if ev.Seq <= sent {
				continue
			}
			if err := stream.Event(ev.Seq, ev.Type, ev.Data); err != nil {
				return true, err
			}
			sent = ev.Seq
			if ev.final() {
				return true, nil
			}
		}
		return false, nil
	}
	if done, _ := send(backlog); done {
		return
	}

	ping := time.NewTicker(a.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			if err := stream.Ping(); err != nil {
				return
			}
		case ev, ok := <-sub.Events:
			if !ok {
				// Dropped as too slow, job deleted or server stopping: the
				// client reconnects with Last-Event-ID.
				return
			}
			events := []jobEvent{ev}
			if ev.Seq > sent+1 {
				// A gap: fill it from the store.
				if events, err = a.store.EventsAfter(ctx, id, sent); err != nil {
					a.log.Error("unable to load events", "transcription_id", id, "error", err)
					return
				}
			}
			if done, _ := send(events); done {
				return
			}
		}
	}
}
