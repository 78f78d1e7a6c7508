-- +goose Up
-- Sessions carry the version they were issued at; logging out bumps it,
-- which revokes every cookie issued before, wherever it is.
ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN session_version;
