-- +goose Up
-- Times are Unix milliseconds (UTC) so comparisons and ordering are plain
-- integer compares.

CREATE TABLE transcriptions (
    id             TEXT PRIMARY KEY,
    status         TEXT NOT NULL,
    -- claimed is 1 while a worker in this process runs the job; a job that
    -- is 'processing' but unclaimed (after a restart or shutdown) is picked
    -- up again and re-run from the start.
    claimed        INTEGER NOT NULL DEFAULT 0,
    progress       REAL NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    duration       REAL,
    language       TEXT NOT NULL,
    metadata       TEXT NOT NULL DEFAULT '',
    webhook_url    TEXT NOT NULL DEFAULT '',
    audio_path     TEXT NOT NULL,
    file_sha256    TEXT NOT NULL,
    charged_seconds REAL NOT NULL DEFAULT 0,
    error_code     TEXT,
    error_message  TEXT,
    result         TEXT,
    last_event_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX transcriptions_runnable ON transcriptions (status, claimed, created_at);

-- events is each job's SSE history; seq grows by one per event and is the
-- SSE id, so Last-Event-ID keeps working across restarts.
CREATE TABLE events (
    transcription_id TEXT NOT NULL REFERENCES transcriptions (id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    type             TEXT NOT NULL,
    data             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (transcription_id, seq)
) WITHOUT ROWID;

CREATE TABLE idempotency_keys (
    key              TEXT PRIMARY KEY,
    file_sha256      TEXT NOT NULL,
    transcription_id TEXT NOT NULL REFERENCES transcriptions (id) ON DELETE CASCADE,
    created_at       INTEGER NOT NULL
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
CREATE INDEX idempotency_keys_transcription ON idempotency_keys (transcription_id);

CREATE TABLE webhook_endpoints (
    id         TEXT PRIMARY KEY,
    url        TEXT NOT NULL UNIQUE,
    events     TEXT NOT NULL, -- JSON array of event names
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- deliveries is the webhook outbox: one row per (event, endpoint).
CREATE TABLE deliveries (
    -- msg_id is the webhook-id: one per event, shared by every endpoint
    -- that receives the event and kept on every retry.
    msg_id           TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    transcription_id TEXT,
    payload          BLOB NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending', -- pending | delivered | abandoned
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    PRIMARY KEY (msg_id, endpoint_id)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_transcription ON deliveries (transcription_id);

-- balance_usage records the seconds charged; the remaining balance is the
-- configured grant minus used, so changing the grant in the config applies.
CREATE TABLE balance_usage (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    used_seconds REAL NOT NULL
);
INSERT INTO balance_usage (id, used_seconds) VALUES (1, 0);

-- +goose Down
DROP TABLE balance_usage;
DROP TABLE deliveries;
DROP TABLE webhook_endpoints;
DROP TABLE idempotency_keys;
DROP TABLE events;
DROP TABLE transcriptions;
