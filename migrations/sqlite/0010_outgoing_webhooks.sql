-- +goose Up
-- Users' own webhook endpoints: scribe posts their jobs' events there,
-- signed with the endpoint's secret (Standard Webhooks: "whsec_" and the
-- base64 key). The secret is kept as is, since signing needs it.
CREATE TABLE hook_endpoints (
    id         TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    events     TEXT NOT NULL, -- JSON array of event names
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX hook_endpoints_user ON hook_endpoints (user_id, created_at);

-- The outbox: one row per event and endpoint, written in the transaction
-- that changes the job, so no event is lost to a crash. message_id is the
-- webhook-id, the same on every attempt. job_json is the job as it was at
-- the event (NULL for a test event); a pending progress row not yet tried
-- takes the newer progress instead of a second row.
CREATE TABLE hook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      TEXT NOT NULL UNIQUE,
    endpoint_id     TEXT NOT NULL REFERENCES hook_endpoints(id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    job_id          TEXT,
    job_json        TEXT,
    occurred_at     TIMESTAMP NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    -- Set while an attempt is under way; the dispatcher clears every one
    -- when it starts, as then no attempt can be.
    in_flight       INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    retry_from      TIMESTAMP NOT NULL, -- when retries began: the event, or a redelivery by hand
    last_attempt_at TIMESTAMP,
    last_status     INTEGER NOT NULL DEFAULT 0, -- HTTP status of the last attempt; 0 when none came
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX hook_deliveries_due ON hook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX hook_deliveries_endpoint ON hook_deliveries (endpoint_id, id DESC);
CREATE INDEX hook_deliveries_job ON hook_deliveries (job_id, endpoint_id) WHERE state = 'pending';

-- +goose Down
DROP TABLE hook_deliveries;
DROP TABLE hook_endpoints;
