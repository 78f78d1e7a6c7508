-- +goose Up
-- next_poll_at is when the backstop next asks the upstream for a
-- submitted, unfinished job's status. NULL until the job's first poll,
-- which comes when it turns stale (SCRIBE_STALE_AFTER after submission);
-- each poll then pushes it further out (see backstop.Schedule).
ALTER TABLE jobs ADD COLUMN next_poll_at TIMESTAMP;
-- A sweep reads only the jobs that are due, through one of these two
-- indexes, however many jobs are waiting.
CREATE INDEX jobs_poll_due ON jobs (next_poll_at)
    WHERE status IN ('queued', 'processing') AND next_poll_at IS NOT NULL;
CREATE INDEX jobs_poll_first ON jobs (submitted_at)
    WHERE status IN ('queued', 'processing') AND upstream_id IS NOT NULL AND next_poll_at IS NULL;

-- +goose Down
DROP INDEX jobs_poll_first;
DROP INDEX jobs_poll_due;
ALTER TABLE jobs DROP COLUMN next_poll_at;
