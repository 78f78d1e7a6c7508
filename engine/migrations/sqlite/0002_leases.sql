-- +goose Up
-- A job is held by a lease instead of a claimed flag, so several engine
-- nodes on one database can share the queue: lease_owner names the node
-- running the job and leased_until (Unix ms) is when it is given up unless
-- renewed. On SQLite there is one node; the columns keep one set of queries.
DROP INDEX transcriptions_runnable;
ALTER TABLE transcriptions DROP COLUMN claimed;
ALTER TABLE transcriptions ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE transcriptions ADD COLUMN leased_until INTEGER NOT NULL DEFAULT 0;
CREATE INDEX transcriptions_runnable ON transcriptions (status, leased_until, created_at);

-- +goose Down
DROP INDEX transcriptions_runnable;
ALTER TABLE transcriptions DROP COLUMN leased_until;
ALTER TABLE transcriptions DROP COLUMN lease_owner;
ALTER TABLE transcriptions ADD COLUMN claimed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX transcriptions_runnable ON transcriptions (status, claimed, created_at);
