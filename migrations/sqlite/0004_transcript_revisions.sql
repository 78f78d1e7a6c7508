-- +goose Up
-- Every saved version of a job's transcript: the upstream's result, each
-- edit by its owner, each restore of an earlier one. They are never changed
-- or removed until their job is; the job names the current one, which its
-- page and downloads show. Ids name revisions in ETags, so AUTOINCREMENT
-- keeps them from being reused.
CREATE TABLE transcript_revisions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id        TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    source        TEXT NOT NULL CHECK (source IN ('upstream', 'edit', 'restore')),
    -- NULL for the upstream's; only a job's owner edits it.
    author_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    -- For a restore, the revision of the same job it copies.
    restored_from INTEGER,
    created_at    TIMESTAMP NOT NULL,
    result_json   TEXT NOT NULL
);
-- A job's revisions, newest first.
CREATE INDEX transcript_revisions_job ON transcript_revisions (job_id, id DESC);

-- The job's current revision; NULL until it completes. No REFERENCES: the
-- store sets it in the transaction that writes the revision, and SQLite
-- could not drop a column with a foreign key in the down migration.
ALTER TABLE jobs ADD COLUMN revision_id INTEGER;

-- Each transcript so far becomes its job's one, upstream, revision.
INSERT INTO transcript_revisions (job_id, source, created_at, result_json)
    SELECT id, 'upstream', COALESCE(finished_at, updated_at), result_json
    FROM jobs WHERE result_json IS NOT NULL ORDER BY finished_at, id;
UPDATE jobs SET revision_id = (SELECT r.id FROM transcript_revisions r WHERE r.job_id = jobs.id)
    WHERE result_json IS NOT NULL;
ALTER TABLE jobs DROP COLUMN result_json;

-- +goose Down
ALTER TABLE jobs ADD COLUMN result_json TEXT;
UPDATE jobs SET result_json = (SELECT r.result_json FROM transcript_revisions r WHERE r.id = jobs.revision_id);
ALTER TABLE jobs DROP COLUMN revision_id;
DROP TABLE transcript_revisions;
