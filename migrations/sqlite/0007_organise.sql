-- +goose Up
-- A job's display name, which its owner may change; filename keeps the
-- name the file was uploaded with.
ALTER TABLE jobs ADD COLUMN name TEXT NOT NULL DEFAULT '';
UPDATE jobs SET name = filename;

-- The list pages by keyset: each order it offers has an index that ends in
-- the job id, so a page is one index range scan however many jobs there are.
DROP INDEX jobs_user;
CREATE INDEX jobs_user_created ON jobs (user_id, created_at, id);
CREATE INDEX jobs_user_status_created ON jobs (user_id, status, created_at, id);
CREATE INDEX jobs_user_name ON jobs (user_id, name COLLATE NOCASE, id);
CREATE INDEX jobs_user_status_name ON jobs (user_id, status, name COLLATE NOCASE, id);
-- The delivery-health page reads a user's latest finished jobs.
CREATE INDEX jobs_user_finished ON jobs (user_id, finished_at)
    WHERE finished_at IS NOT NULL AND upstream_id IS NOT NULL;

-- Tags a job's owner gave it. user_id is the job's owner, kept here so a
-- user's tags are listed without reading their jobs.
CREATE TABLE job_tags (
    job_id  TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    tag     TEXT NOT NULL,
    PRIMARY KEY (job_id, tag)
) WITHOUT ROWID;
CREATE INDEX job_tags_user_tag ON job_tags (user_id, tag, job_id);

-- +goose Down
DROP TABLE job_tags;
DROP INDEX jobs_user_finished;
DROP INDEX jobs_user_status_name;
DROP INDEX jobs_user_name;
DROP INDEX jobs_user_status_created;
DROP INDEX jobs_user_created;
CREATE INDEX jobs_user ON jobs (user_id, created_at);
ALTER TABLE jobs DROP COLUMN name;
