-- +goose Up
-- API tokens let a person's scripts act for them with
-- "Authorization: Bearer <token>". Only a SHA-256 of the token is kept, so
-- the table holds no working token; a revoked token's row is deleted.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP -- written at most once a minute (store.TokenUseEvery)
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at);

-- +goose Down
DROP TABLE api_tokens;
