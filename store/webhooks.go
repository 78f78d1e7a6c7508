package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DeliveryWindow is how many of a user's latest finished jobs the
// delivery-health figures cover: recent health is what the page is for,
// and a bounded window costs the same however many jobs the user has.
const DeliveryWindow = 200

// DeliveryStats summarises how a user's latest finished jobs learnt their
// final state.
type DeliveryStats struct {
	Jobs                                   int // finished jobs counted, at most DeliveryWindow
	ViaWebhook, ViaSSE, ViaPoll, ViaSubmit int
	PollsMade                              int
	PollsAt3s                              int           // polls that polling every 3 s from submit to finish would have made
	MedianLatency                          time.Duration // upstream completion to our record, over jobs where known
	LastWebhookAt                          time.Time
	FinishedSinceLastWebhook               int
}

// DeliveryStats computes the delivery-health figures for a user's latest
// DeliveryWindow finished jobs, in SQL.
func (s *Store) DeliveryStats(ctx context.Context, userID int64) (DeliveryStats, error) {
	var st DeliveryStats
	// The column itself, not MAX(received_at): SQLite gives an aggregate no
	// declared type, so the driver would hand back text, not a time.
	var last sql.NullTime
	err := s.reader.QueryRowContext(ctx, "SELECT received_at FROM webhook_receipts ORDER BY received_at DESC LIMIT 1").Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("store: unable to read the last webhook time: %w", err)
	}
	st.LastWebhookAt = last.Time
	// Spans are julianday differences (days, as a double: about 10 µs of
	// precision here), the cheapest of SQLite's date parsers; lateness is
	// rounded to whole milliseconds.
	var medianMillis sql.NullInt64
	err = s.reader.QueryRowContext(ctx, `WITH recent AS (
			SELECT completed_via, polls, finished_at,
				86400 * (julianday(finished_at) - julianday(submitted_at)) AS took,
				CAST(round(86400000 * (julianday(finished_at) - julianday(upstream_done_at))) AS INTEGER) AS late
			FROM jobs WHERE user_id = ?1 AND finished_at IS NOT NULL AND upstream_id IS NOT NULL
			ORDER BY finished_at DESC LIMIT ?2
		), latencies AS (
			SELECT max(late, 0) AS late FROM recent WHERE late IS NOT NULL
		) SELECT count(*),
			count(*) FILTER (WHERE completed_via = 'webhook'),
			count(*) FILTER (WHERE completed_via = 'sse'),
			count(*) FILTER (WHERE completed_via = 'poll'),
			count(*) FILTER (WHERE completed_via = 'submit'),
			coalesce(sum(polls), 0),
			coalesce(sum(CAST(took / 3 AS INTEGER) + 1), 0),
			count(*) FILTER (WHERE completed_via != 'webhook' AND (?3 IS NULL OR finished_at > ?3)),
			(SELECT late FROM latencies ORDER BY late LIMIT 1 OFFSET (SELECT count(*) / 2 FROM latencies))
		FROM recent`, userID, DeliveryWindow, last).Scan(&st.Jobs, &st.ViaWebhook, &st.ViaSSE, &st.ViaPoll, &st.ViaSubmit,
		&st.PollsMade, &st.PollsAt3s, &st.FinishedSinceLastWebhook, &medianMillis)
	if err != nil {
		return st, fmt.Errorf("store: unable to compute delivery stats of user %d: %w", userID, err)
	}
	st.MedianLatency = time.Duration(medianMillis.Int64) * time.Millisecond
	return st, nil
}
