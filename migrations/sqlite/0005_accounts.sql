-- +goose Up
-- email_key is the email after NFKC and Unicode case folding: accounts are
-- found and kept unique by it, so "STRASSE@x" and "straße@x" are one
-- account. SQL cannot fold Unicode, so store.Open fills it for older rows;
-- an older row whose key collides with another's keeps NULL and is found
-- by its email as before.
ALTER TABLE users ADD COLUMN email_key TEXT;
CREATE UNIQUE INDEX users_email_key ON users (email_key);

-- The first account is the admin; on an existing install, the oldest.
ALTER TABLE users ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
UPDATE users SET is_admin = 1 WHERE id = (SELECT min(id) FROM users);
-- A disabled account cannot sign in, and its sessions stop working.
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;

-- Single-use links an admin hands out: an invitation to sign up, or a
-- password reset for one account. Only a SHA-256 of the token is kept, so
-- the table does not hold working links.
CREATE TABLE account_links (
    token_hash BLOB PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('invite', 'reset')),
    user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE, -- whose password a reset sets; NULL for invitations
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX account_links_expiry ON account_links (expires_at);

-- +goose Down
DROP TABLE account_links;
DROP INDEX users_email_key;
ALTER TABLE users DROP COLUMN disabled_at;
ALTER TABLE users DROP COLUMN is_admin;
ALTER TABLE users DROP COLUMN email_key;
