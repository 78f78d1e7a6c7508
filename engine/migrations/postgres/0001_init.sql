-- +goose Up
-- The engine's schema on PostgreSQL, shared by every engine node: the end
-- state of the SQLite migrations, in PostgreSQL's types. Times are Unix
-- milliseconds (UTC), as on SQLite, so the queries are the same.
-- rowid is an insertion counter named like SQLite's implicit column, so
-- "ORDER BY created_at, rowid" keeps ties in insertion order on both.

CREATE TABLE transcriptions (
    id              TEXT PRIMARY KEY,
    rowid           BIGINT GENERATED ALWAYS AS IDENTITY,
    status          TEXT NOT NULL,
    progress        DOUBLE PRECISION NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    duration        DOUBLE PRECISION,
    language        TEXT NOT NULL,
    metadata        TEXT NOT NULL DEFAULT '',
    webhook_url     TEXT NOT NULL DEFAULT '',
    -- relative to the shared storage directory
    audio_path      TEXT NOT NULL,
    file_sha256     TEXT NOT NULL,
    charged_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    error_code      TEXT,
    error_message   TEXT,
    result          TEXT,
    last_event_seq  BIGINT NOT NULL DEFAULT 0,
    -- the node running the job, and until when (renewed while it runs)
    lease_owner     TEXT NOT NULL DEFAULT '',
    leased_until    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX transcriptions_runnable ON transcriptions (status, leased_until, created_at);

CREATE TABLE events (
    transcription_id TEXT NOT NULL REFERENCES transcriptions (id) ON DELETE CASCADE,
    seq              BIGINT NOT NULL,
    type             TEXT NOT NULL,
    data             TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (transcription_id, seq)
);

CREATE TABLE idempotency_keys (
    key              TEXT PRIMARY KEY,
    file_sha256      TEXT NOT NULL,
    transcription_id TEXT NOT NULL REFERENCES transcriptions (id) ON DELETE CASCADE,
    created_at       BIGINT NOT NULL
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
CREATE INDEX idempotency_keys_transcription ON idempotency_keys (transcription_id);

CREATE TABLE webhook_endpoints (
    id         TEXT PRIMARY KEY,
    rowid      BIGINT GENERATED ALWAYS AS IDENTITY,
    url        TEXT NOT NULL UNIQUE,
    events     TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE deliveries (
    msg_id           TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    rowid            BIGINT GENERATED ALWAYS AS IDENTITY,
    event            TEXT NOT NULL,
    transcription_id TEXT,
    payload          BYTEA NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    PRIMARY KEY (msg_id, endpoint_id)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_transcription ON deliveries (transcription_id);

-- The one row is also the lock that serialises creates across nodes, so
-- the balance and the queue cap hold exactly (store.CreateTranscription).
CREATE TABLE balance_usage (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    used_seconds DOUBLE PRECISION NOT NULL
);
INSERT INTO balance_usage (id, used_seconds) VALUES (1, 0);

-- +goose Down
DROP TABLE balance_usage;
DROP TABLE deliveries;
DROP TABLE webhook_endpoints;
DROP TABLE idempotency_keys;
DROP TABLE events;
DROP TABLE transcriptions;
