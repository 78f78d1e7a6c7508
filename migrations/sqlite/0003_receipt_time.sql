-- +goose Up
-- The last webhook's time is read from the receipts themselves, recorded in
-- the transaction that applies each delivery, instead of a setting written
-- by a second transaction per delivery.
CREATE INDEX webhook_receipts_received ON webhook_receipts (received_at);
DELETE FROM settings WHERE key = 'last_webhook_at';
-- Refused webhooks are counted in memory (/metrics) instead: a forgery
-- must not cost a database write.
DELETE FROM counters WHERE name = 'rejected_webhooks';

-- +goose Down
INSERT INTO counters (name, value) VALUES ('rejected_webhooks', 0);
DROP INDEX webhook_receipts_received;
