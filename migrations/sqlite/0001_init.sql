-- +goose Up
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash BLOB NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

-- A job is one uploaded file and its upstream transcription.
CREATE TABLE jobs (
    id             TEXT PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    filename       TEXT NOT NULL,
    audio_path     TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL,
    duration       REAL NOT NULL DEFAULT 0,
    -- Submission: submit_key is the Idempotency-Key; a retry by the user
    -- bumps attempt and so gets a new key and a new upstream job.
    attempt        INTEGER NOT NULL DEFAULT 0,
    upstream_id    TEXT UNIQUE,
    submit_tries   INTEGER NOT NULL DEFAULT 0,
    next_submit_at TIMESTAMP,
    submitted_at   TIMESTAMP,
    status         TEXT NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
    progress       REAL NOT NULL DEFAULT 0,
    error          TEXT NOT NULL DEFAULT '',
    result_json    TEXT,
    completed_via  TEXT NOT NULL DEFAULT '',
    upstream_done_at TIMESTAMP,
    finished_at    TIMESTAMP,
    polls          INTEGER NOT NULL DEFAULT 0,
    -- seq is the value of the global change sequence at this job's last
    -- change: browser streams use it as the SSE id to resume from.
    seq            INTEGER NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX jobs_user ON jobs (user_id, created_at);
CREATE INDEX jobs_pending_submit ON jobs (next_submit_at) WHERE upstream_id IS NULL AND status = 'queued';
CREATE INDEX jobs_active ON jobs (status, submitted_at) WHERE status IN ('queued', 'processing');

-- Every webhook-id handled, so a redelivery is a no-op even when two copies race.
CREATE TABLE webhook_receipts (
    webhook_id  TEXT PRIMARY KEY,
    event       TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL
);

-- Small named values: the webhook endpoint and its secret, the last
-- balance.low and webhook times.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Monotonic counters: seq (the change sequence), rejected_webhooks.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('seq', 0), ('rejected_webhooks', 0);

-- +goose Down
DROP TABLE counters;
DROP TABLE settings;
DROP TABLE webhook_receipts;
DROP TABLE jobs;
DROP TABLE users;
