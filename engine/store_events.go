package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"scribe/deepscript"
	"scribe/sqldb"
)

// jobEvent is one entry of a job's SSE history.
type jobEvent struct {
	TranscriptionID string
	Seq             int64 // the SSE id: 1, 2, 3… per job
	Type            string
	Data            []byte // the status object as JSON
}

// final reports whether the event ends the job's stream.
func (e jobEvent) final() bool {
	return e.Type == deepscript.EventCompleted || e.Type == deepscript.EventFailed
}

// appendEvent records the job's current state as the next event of its
// history. It runs inside the transaction that changed the state, so the
// history and the row never disagree.
func (s *store) appendEvent(ctx context.Context, tx *sqldb.Tx, id, typ string, now time.Time) (jobEvent, error) {
	t, err := scanTranscription(tx.QueryRowContext(ctx, `SELECT `+transcriptionColumns+`
		FROM transcriptions WHERE id = ?`, id))
	if err != nil {
		return jobEvent{}, fmt.Errorf("store: unable to load job %s for its event: %w", id, err)
	}
	data, err := json.Marshal(t)
	if err != nil {
		return jobEvent{}, fmt.Errorf("store: unable to encode event: %w", err)
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `UPDATE transcriptions SET last_event_seq = last_event_seq + 1
		WHERE id = ? RETURNING last_event_seq`, id).Scan(&seq); err != nil {
		return jobEvent{}, fmt.Errorf("store: unable to number event of %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (transcription_id, seq, type, data, created_at)
		VALUES (?, ?, ?, ?, ?)`, id, seq, typ, string(data), millis(now)); err != nil {
		return jobEvent{}, fmt.Errorf("store: unable to insert event of %s: %w", id, err)
	}
	if err := s.notify(ctx, tx, eventsChannel, id+" "+strconv.FormatInt(seq, 10)); err != nil {
		return jobEvent{}, err
	}
	return jobEvent{TranscriptionID: id, Seq: seq, Type: typ, Data: data}, nil
}

// LastEvent returns the newest event of a job, which carries its current
// state; errNotFound when the job does not exist.
func (s *store) LastEvent(ctx context.Context, id string) (jobEvent, error) {
	ev := jobEvent{TranscriptionID: id}
	var data string
	err := s.reader.QueryRowContext(ctx, `SELECT seq, type, data FROM events
		WHERE transcription_id = ? ORDER BY seq DESC LIMIT 1`, id).Scan(&ev.Seq, &ev.Type, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return ev, errNotFound
	}
	if err != nil {
		return ev, fmt.Errorf("store: unable to load last event of %s: %w", id, err)
	}
	ev.Data = []byte(data)
	return ev, nil
}

// Event returns one event of a job; errNotFound when it does not exist.
func (s *store) Event(ctx context.Context, id string, seq int64) (jobEvent, error) {
	ev := jobEvent{TranscriptionID: id, Seq: seq}
	var data string
	err := s.reader.QueryRowContext(ctx, `SELECT type, data FROM events
		WHERE transcription_id = ? AND seq = ?`, id, seq).Scan(&ev.Type, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return ev, errNotFound
	}
	if err != nil {
		return ev, fmt.Errorf("store: unable to load event %d of %s: %w", seq, id, err)
	}
	ev.Data = []byte(data)
	return ev, nil
}

// EventsAfter returns a job's events with seq > after, oldest first.
func (s *store) EventsAfter(ctx context.Context, id string, after int64) ([]jobEvent, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT seq, type, data FROM events
		WHERE transcription_id = ? AND seq > ? ORDER BY seq`, id, after)
	if err != nil {
		return nil, fmt.Errorf("store: unable to load events of %s: %w", id, err)
	}
	defer rows.Close()
	var events []jobEvent
	for rows.Next() {
		ev := jobEvent{TranscriptionID: id}
		var data string
		if err := rows.Scan(&ev.Seq, &ev.Type, &data); err != nil {
			return nil, fmt.Errorf("store: unable to load events of %s: %w", id, err)
		}
		ev.Data = []byte(data)
		events = append(events, ev)
	}
	return events, rows.Err()
}
