-- +goose Up
-- Which replica (host and data dir) has claimed a job's submission or a
-- delivery's attempt; see migrations/sqlite/0012_claims.sql.
ALTER TABLE jobs ADD COLUMN submit_claimed_by text;
ALTER TABLE hook_deliveries ADD COLUMN claimed_by text;

-- +goose Down
ALTER TABLE hook_deliveries DROP COLUMN claimed_by;
ALTER TABLE jobs DROP COLUMN submit_claimed_by;
