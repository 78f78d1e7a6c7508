package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Setting keys.
const (
	SettingWebhookID     = "webhook_endpoint_id"
	SettingWebhookURL    = "webhook_endpoint_url"
	SettingWebhookSecret = "webhook_secret"
	SettingBalanceLowAt  = "balance_low_at"
	SettingLastWebhookAt = "last_webhook_at"
)

// Setting reads a named value; "" when unset.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.reader.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: unable to read setting %s: %w", key, err)
	}
	return v, nil
}

// SetSettings writes named values in one transaction.
func (s *Store) SetSettings(ctx context.Context, kv map[string]string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for k, v := range kv {
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: unable to write settings: %w", err)
	}
	return nil
}

// WebhookSeen reports whether a webhook-id was already handled.
func (s *Store) WebhookSeen(ctx context.Context, webhookID string) (bool, error) {
	var n int
	err := s.reader.QueryRowContext(ctx, "SELECT COUNT(*) FROM webhook_receipts WHERE webhook_id = ?", webhookID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: unable to look up webhook %s: %w", webhookID, err)
	}
	return n > 0, nil
}

// RecordWebhook marks a webhook-id handled and notes when webhooks last
// arrived; ErrDuplicate when it was already handled. extra settings are
// written in the same transaction.
func (s *Store) RecordWebhook(ctx context.Context, webhookID, event string, extra map[string]string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.Now()
		if err := recordReceipt(ctx, tx, webhookID, event, now); err != nil {
			return err
		}
		for k, v := range extra {
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrDuplicate) {
		err = fmt.Errorf("store: unable to record webhook %s: %w", webhookID, err)
	}
	return err
}

// CountRejectedWebhook counts a webhook refused for a bad signature or time.
func (s *Store) CountRejectedWebhook(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := bump(ctx, tx, "rejected_webhooks")
		return err
	})
}

// DeliveryStats summarises how a user's jobs learnt their final state.
type DeliveryStats struct {
	ViaWebhook, ViaSSE, ViaPoll int
	RejectedWebhooks            int
	PollsMade                   int
	PollsAt3s                   int             // polls that polling every 3 s from submit to finish would have made
	Latencies                   []time.Duration // upstream completion to our record, per job where known
	LastWebhookAt               time.Time
	FinishedSinceLastWebhook    int
}

// DeliveryStats computes the delivery-health figures for a user.
func (s *Store) DeliveryStats(ctx context.Context, userID int64) (DeliveryStats, error) {
	var st DeliveryStats
	jobs, err := s.queryJobs(ctx, "WHERE user_id = ? AND finished_at IS NOT NULL AND upstream_id IS NOT NULL", userID)
	if err != nil {
		return st, err
	}
	if v, err := s.Setting(ctx, SettingLastWebhookAt); err != nil {
		return st, err
	} else if v != "" {
		st.LastWebhookAt, _ = time.Parse(time.RFC3339Nano, v)
	}
	for _, j := range jobs {
		switch j.CompletedVia {
		case ViaWebhook:
			st.ViaWebhook++
		case ViaSSE:
			st.ViaSSE++
		case ViaPoll:
			st.ViaPoll++
		}
		st.PollsMade += j.Polls
		if !j.SubmittedAt.IsZero() {
			st.PollsAt3s += int(j.FinishedAt.Sub(j.SubmittedAt)/(3*time.Second)) + 1
		}
		if !j.UpstreamDone.IsZero() {
			st.Latencies = append(st.Latencies, max(0, j.FinishedAt.Sub(j.UpstreamDone)))
		}
		if j.FinishedAt.After(st.LastWebhookAt) && j.CompletedVia != ViaWebhook {
			st.FinishedSinceLastWebhook++
		}
	}
	err = s.reader.QueryRowContext(ctx, "SELECT value FROM counters WHERE name = 'rejected_webhooks'").Scan(&st.RejectedWebhooks)
	if err != nil {
		return st, fmt.Errorf("store: unable to read rejected webhooks: %w", err)
	}
	return st, nil
}
