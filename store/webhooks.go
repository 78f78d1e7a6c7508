package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"scribe/job"
	"time"
)

// DeliveryStats summarises how a user's jobs learnt their final state.
type DeliveryStats struct {
	ViaWebhook, ViaSSE, ViaPoll, ViaSubmit int
	PollsMade                              int
	PollsAt3s                              int             // polls that polling every 3 s from submit to finish would have made
	Latencies                              []time.Duration // upstream completion to our record, per job where known
	LastWebhookAt                          time.Time
	FinishedSinceLastWebhook               int
}

// DeliveryStats computes the delivery-health figures for a user.
func (s *Store) DeliveryStats(ctx context.Context, userID int64) (DeliveryStats, error) {
	var st DeliveryStats
	jobs, err := s.queryJobs(ctx, "WHERE user_id = ? AND finished_at IS NOT NULL AND upstream_id IS NOT NULL", userID)
	if err != nil {
		return st, err
	}
	// The column itself, not MAX(received_at): SQLite gives an aggregate no
	// declared type, so the driver would hand back text, not a time.
	var last sql.NullTime
	err = s.reader.QueryRowContext(ctx, "SELECT received_at FROM webhook_receipts ORDER BY received_at DESC LIMIT 1").Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("store: unable to read the last webhook time: %w", err)
	}
	st.LastWebhookAt = last.Time
	for _, j := range jobs {
		switch j.CompletedVia {
		case job.ViaWebhook:
			st.ViaWebhook++
		case job.ViaSSE:
			st.ViaSSE++
		case job.ViaPoll:
			st.ViaPoll++
		case job.ViaSubmit:
			st.ViaSubmit++
		}
		st.PollsMade += j.Polls
		if !j.SubmittedAt.IsZero() {
			st.PollsAt3s += int(j.FinishedAt.Sub(j.SubmittedAt)/(3*time.Second)) + 1
		}
		if !j.UpstreamDone.IsZero() {
			st.Latencies = append(st.Latencies, max(0, j.FinishedAt.Sub(j.UpstreamDone)))
		}
		if j.FinishedAt.After(st.LastWebhookAt) && j.CompletedVia != job.ViaWebhook {
			st.FinishedSinceLastWebhook++
		}
	}
	return st, nil
}
