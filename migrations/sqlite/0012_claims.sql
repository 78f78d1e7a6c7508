-- +goose Up
-- Which replica (host and data dir) has claimed a job's submission or a
-- delivery's attempt. A claim also moves next_submit_at or
-- next_attempt_at a lease ahead, so a dead replica's claims run out and
-- another takes the work; a restarted replica releases its own at once.
ALTER TABLE jobs ADD COLUMN submit_claimed_by TEXT;
ALTER TABLE hook_deliveries ADD COLUMN claimed_by TEXT;

-- +goose Down
ALTER TABLE hook_deliveries DROP COLUMN claimed_by;
ALTER TABLE jobs DROP COLUMN submit_claimed_by;
