package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"

	"scribe/sqldb"
)

// PostgreSQL notification channels between engine nodes. A notification
// is sent by the transaction that made the change and delivered when it
// commits, to every node, the sender included.
const (
	// eventsChannel carries "<transcription id> <seq>" for each stored
	// event, and "<transcription id> 0" when the job is deleted.
	eventsChannel = "scribe_engine_events"
	// queueChannel says a job was queued, so idle workers on every node
	// look at once instead of at their next poll.
	queueChannel = "scribe_engine_queue"
)

// notify sends a notification with tx on PostgreSQL; on SQLite, with one
// node, the in-process hub and wake-ups are enough and it does nothing.
func (s *store) notify(ctx context.Context, tx *sqldb.Tx, channel, payload string) error {
	if s.dialect != sqldb.Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify(?, ?)`, channel, payload); err != nil {
		return fmt.Errorf("store: unable to notify %s: %w", channel, err)
	}
	return nil
}

// listenerReconnect is how long the listener waits before reconnecting
// after losing its connection.
const listenerReconnect = time.Second

// runListener relays other nodes' changes (and this node's, once more) to
// this node until ctx ends: a stored event reaches the live SSE streams of
// its job, which re-read it from the store; a deleted job's streams end;
// a queued job wakes the workers. It holds one connection of its own.
func runListener(ctx context.Context, databaseURL string, st *store, h *hub, workers *workerPool, log *slog.Logger) {
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) { return pgx.Connect(ctx, databaseURL) },
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil {
				log.Error("change listener", "error", err)
			}
		},
		ReconnectDelay: listenerReconnect,
	}
	l.Handle(eventsChannel, eventRelay{store: st, hub: h})
	l.Handle(queueChannel, pgxlisten.HandlerFunc(func(context.Context, *pgconn.Notification, *pgx.Conn) error {
		workers.Wake()
		return nil
	}))
	l.Listen(ctx) //nolint:errcheck // returns ctx's error when stopped
}

// eventRelay hands notified events to the hub's subscribers.
type eventRelay struct {
	store *store
	hub   *hub
}

// HandleNotification publishes the notified event when this node has a
// stream on its job.
func (r eventRelay) HandleNotification(ctx context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	id, seqText, ok := strings.Cut(n.Payload, " ")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if !ok || err != nil {
		return fmt.Errorf("engine: bad event notification %q", n.Payload)
	}
	if seq == 0 {
		r.hub.CloseJob(id)
		return nil
	}
	if !r.hub.Watched(id) {
		return nil
	}
	return r.publish(ctx, id, func() (jobEvent, error) { return r.store.Event(ctx, id, seq) })
}

// HandleBacklog runs when the listener (re)connects: notifications sent
// while it was away are lost, so each watched job's latest event is
// published; a stream that missed events sees the gap and fills it from
// the store.
func (r eventRelay) HandleBacklog(ctx context.Context, _ string, _ *pgx.Conn) error {
	for _, id := range r.hub.WatchedJobs() {
		if err := r.publish(ctx, id, func() (jobEvent, error) { return r.store.LastEvent(ctx, id) }); err != nil {
			return err
		}
	}
	return nil
}

func (r eventRelay) publish(ctx context.Context, id string, load func() (jobEvent, error)) error {
	ev, err := load()
	switch {
	case errors.Is(err, errNotFound):
		r.hub.CloseJob(id) // deleted meanwhile
		return nil
	case err != nil:
		return err
	}
	r.hub.Publish(ev)
	return nil
}
