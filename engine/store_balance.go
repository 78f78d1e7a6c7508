package engine

import (
	"context"
	"fmt"

	"scribe/deepscript"
	"scribe/sqldb"
)

// chargeFor is what a job of the given duration costs: its seconds of
// audio, or nothing when the balance is unlimited.
func (s *store) chargeFor(duration float64) float64 {
	if s.grantSeconds <= 0 {
		return 0
	}
	return duration
}

// charge takes seconds from the balance, failing with
// errInsufficientBalance when they exceed what remains. It queues a
// balance.low delivery when the charge crosses below the threshold and
// reports whether it did.
func (s *store) charge(ctx context.Context, tx *sqldb.Tx, seconds float64) (bool, error) {
	if s.grantSeconds <= 0 {
		return false, nil
	}
	var used float64
	if err := tx.QueryRowContext(ctx, `SELECT used_seconds FROM balance_usage WHERE id = 1`).Scan(&used); err != nil {
		return false, fmt.Errorf("store: unable to read balance: %w", err)
	}
	before := s.grantSeconds - used
	if seconds > before {
		return false, errInsufficientBalance
	}
	after := before - seconds
	if _, err := tx.ExecContext(ctx, `UPDATE balance_usage SET used_seconds = used_seconds + ? WHERE id = 1`, seconds); err != nil {
		return false, fmt.Errorf("store: unable to charge balance: %w", err)
	}
	if s.lowSeconds <= 0 || before < s.lowSeconds || after >= s.lowSeconds {
		return false, nil
	}
	payload := deepscript.WebhookEvent{
		Event:     deepscript.EventBalanceLow,
		CreatedAt: s.now(),
		Balance:   &deepscript.Balance{RemainingSeconds: after, ThresholdSeconds: s.lowSeconds},
	}
	n, err := s.enqueue(ctx, tx, payload, "", "1 = 1")
	return n > 0, err
}

// refund gives a job's charge back (it failed or was deleted unfinished).
func (s *store) refund(ctx context.Context, tx *sqldb.Tx, id string) error {
	var charged float64
	if err := tx.QueryRowContext(ctx, `SELECT charged_seconds FROM transcriptions WHERE id = ?`, id).Scan(&charged); err != nil {
		return fmt.Errorf("store: unable to refund %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE balance_usage SET used_seconds =
		CASE WHEN used_seconds > ? THEN used_seconds - ? ELSE 0 END WHERE id = 1`, charged, charged); err != nil {
		return fmt.Errorf("store: unable to refund %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE transcriptions SET charged_seconds = 0 WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: unable to refund %s: %w", id, err)
	}
	return nil
}

// RemainingBalance is the balance left in seconds; ok is false when it is
// unlimited.
func (s *store) RemainingBalance(ctx context.Context) (remaining float64, ok bool, err error) {
	if s.grantSeconds <= 0 {
		return 0, false, nil
	}
	var used float64
	if err := s.reader.QueryRowContext(ctx, `SELECT used_seconds FROM balance_usage WHERE id = 1`).Scan(&used); err != nil {
		return 0, true, fmt.Errorf("store: unable to read balance: %w", err)
	}
	return s.grantSeconds - used, true, nil
}
