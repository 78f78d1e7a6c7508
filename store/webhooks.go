package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"scribe/sqldb"
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

// spans are DeliveryStats' time arithmetic per dialect: took, the seconds
// from submission to finish; periods, the whole 3-second periods in took;
// late, the milliseconds from the upstream's finish to ours, rounded.
// SQLite's are julianday differences (days, as a double: about 10 µs of
// precision here), the cheapest of its date parsers; PostgreSQL subtracts
// its timestamps exactly.
var spans = map[sqldb.Dialect]struct{ took, periods, late string }{
	sqldb.SQLite: {
		took:    "86400 * (julianday(finished_at) - julianday(submitted_at))",
		periods: "CAST(took / 3 AS INTEGER)",
		late:    "CAST(round(86400000 * (julianday(finished_at) - julianday(upstream_done_at))) AS INTEGER)",
	},
	sqldb.Postgres: {
		took:    "extract(epoch FROM finished_at - submitted_at)",
		periods: "CAST(trunc(took / 3) AS integer)",
		late:    "CAST(round(1000 * extract(epoch FROM finished_at - upstream_done_at)) AS bigint)",
	},
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
	// Jobs finished since the last webhook: with none, the zero time,
	// before every job.
	sp := spans[s.reader.Dialect]
	var medianMillis sql.NullInt64
	err = s.reader.QueryRowContext(ctx, `WITH recent AS (
			SELECT completed_via, polls, finished_at,
				`+sp.took+` AS took,
				`+sp.late+` AS late
			FROM jobs WHERE user_id = ?1 AND finished_at IS NOT NULL AND upstream_id IS NOT NULL
			ORDER BY finished_at DESC LIMIT ?2
		), latencies AS (
			SELECT CASE WHEN late < 0 THEN 0 ELSE late END AS late FROM recent WHERE late IS NOT NULL
		) SELECT count(*),
			count(*) FILTER (WHERE completed_via = 'webhook'),
			count(*) FILTER (WHERE completed_via = 'sse'),
			count(*) FILTER (WHERE completed_via = 'poll'),
			count(*) FILTER (WHERE completed_via = 'submit'),
			coalesce(sum(polls), 0),
			coalesce(sum(`+sp.periods+` + 1), 0),
			count(*) FILTER (WHERE completed_via != 'webhook' AND finished_at > ?3),
			(SELECT late FROM latencies ORDER BY late LIMIT 1 OFFSET (SELECT count(*) / 2 FROM latencies))
		FROM recent`, userID, DeliveryWindow, last.Time.UTC()).Scan(&st.Jobs, &st.ViaWebhook, &st.ViaSSE, &st.ViaPoll, &st.ViaSubmit,
		&st.PollsMade, &st.PollsAt3s, &st.FinishedSinceLastWebhook, &medianMillis)
	if err != nil {
		return st, fmt.Errorf("store: unable to compute delivery stats of user %d: %w", userID, err)
	}
	st.MedianLatency = time.Duration(medianMillis.Int64) * time.Millisecond
	return st, nil
}
