-- +goose Up
-- A browser stream resuming from Last-Event-ID reads the user's jobs
-- changed since that sequence number, in change order, up to a limit:
-- this index makes that a seek, however many jobs the user has.
CREATE INDEX jobs_user_seq ON jobs (user_id, seq);

-- +goose Down
DROP INDEX jobs_user_seq;
