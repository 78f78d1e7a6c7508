package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"scribe/sqldb"
	"time"
)

// Setting keys; each is read and written only by the typed methods below.
const (
	settingWebhookID     = "webhook_endpoint_id"
	settingWebhookURL    = "webhook_endpoint_url"
	settingWebhookSecret = "webhook_secret"
	settingBalanceLowAt  = "balance_low_at"
	settingSessionKeys   = "session_keys"

	settingEmbeddedEngineKey = "embedded_engine_key"
)

// WebhookEndpoint is the upstream's endpoint that delivers webhooks to us.
type WebhookEndpoint struct {
	ID     string
	URL    string
	Secret string // whsec_…; verifies each delivery
}

// WebhookEndpoint loads the registered endpoint; its fields are empty when
// none is registered. Every webhook delivery reads it, so once read it is
// kept in memory: SetWebhookEndpoint replaces the copy, and a delivery
// that fails to verify calls ReloadWebhookEndpoint, in case another
// replica registered the endpoint anew.
func (s *Store) WebhookEndpoint(ctx context.Context) (WebhookEndpoint, error) {
	if e := s.endpoint.Load(); e != nil {
		return *e, nil
	}
	e, err := s.readWebhookEndpoint(ctx)
	if err != nil {
		return WebhookEndpoint{}, err
	}
	s.endpoint.CompareAndSwap(nil, &e)
	return e, nil
}

func (s *Store) readWebhookEndpoint(ctx context.Context) (WebhookEndpoint, error) {
	var e WebhookEndpoint
	fields := map[string]*string{settingWebhookID: &e.ID, settingWebhookURL: &e.URL, settingWebhookSecret: &e.Secret}
	rows, err := s.reader.QueryContext(ctx, "SELECT key, value FROM settings WHERE key IN (?, ?, ?)",
		settingWebhookID, settingWebhookURL, settingWebhookSecret)
	if err != nil {
		return WebhookEndpoint{}, fmt.Errorf("store: unable to read the webhook endpoint: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, value string
		if err := rows.Scan(&key, &value); err != nil {
			return WebhookEndpoint{}, fmt.Errorf("store: unable to read the webhook endpoint: %w", err)
		}
		*fields[key] = value
	}
	return e, rows.Err()
}

// SetWebhookEndpoint records a newly registered endpoint, all fields in
// one transaction.
func (s *Store) SetWebhookEndpoint(ctx context.Context, e WebhookEndpoint) error {
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		return setSettings(ctx, tx, map[string]string{settingWebhookID: e.ID, settingWebhookURL: e.URL, settingWebhookSecret: e.Secret})
	})
	if err != nil {
		return fmt.Errorf("store: unable to record webhook endpoint: %w", err)
	}
	s.endpoint.Store(&e)
	return nil
}

// SessionKeys returns the installation's session keys, storing candidate
// as them first if none are stored yet: the first replica to start
// decides, and every replica signs cookies with the same keys.
func (s *Store) SessionKeys(ctx context.Context, candidate string) (string, error) {
	return s.firstWins(ctx, settingSessionKeys, candidate)
}

// EmbeddedEngineKey returns the API key the replicas' embedded engines
// share, storing candidate as it first if none is stored yet.
func (s *Store) EmbeddedEngineKey(ctx context.Context, candidate string) (string, error) {
	return s.firstWins(ctx, settingEmbeddedEngineKey, candidate)
}

// firstWins stores candidate as setting key unless it is set already,
// and returns what is stored.
func (s *Store) firstWins(ctx context.Context, key, candidate string) (string, error) {
	if _, err := s.writer.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO NOTHING`, key, candidate); err != nil {
		return "", fmt.Errorf("store: unable to store setting %s: %w", key, err)
	}
	return s.setting(ctx, key)
}

// ReloadWebhookEndpoint reads the registered endpoint again, past the
// copy kept in memory: another replica may have registered it anew.
func (s *Store) ReloadWebhookEndpoint(ctx context.Context) (WebhookEndpoint, error) {
	e, err := s.readWebhookEndpoint(ctx)
	if err != nil {
		return WebhookEndpoint{}, err
	}
	s.endpoint.Store(&e)
	return e, nil
}

// BalanceLowAt is when the upstream last warned that its balance is low;
// zero when never.
func (s *Store) BalanceLowAt(ctx context.Context) (time.Time, error) {
	v, err := s.setting(ctx, settingBalanceLowAt)
	if err != nil || v == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: setting %s holds %q, not a time", settingBalanceLowAt, v)
	}
	return t, nil
}

// RecordBalanceLow marks a balance.low webhook handled and notes its time,
// in one transaction; ErrDuplicate when it was already handled.
func (s *Store) RecordBalanceLow(ctx context.Context, webhookID string) error {
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		now := s.Now()
		if err := recordReceipt(ctx, tx, webhookID, "balance.low", now); err != nil {
			return err
		}
		return setSettings(ctx, tx, map[string]string{settingBalanceLowAt: now.Format(time.RFC3339Nano)})
	})
	if err != nil && !errors.Is(err, ErrDuplicate) {
		err = fmt.Errorf("store: unable to record webhook %s: %w", webhookID, err)
	}
	return err
}

func (s *Store) setting(ctx context.Context, key string) (string, error) {
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

func setSettings(ctx context.Context, tx *sqldb.Tx, kv map[string]string) error {
	for k, v := range kv {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
			return err
		}
	}
	return nil
}
