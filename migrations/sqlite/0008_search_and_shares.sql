-- +goose Up
-- Full-text search. Each job is one document: its filename and the text of
-- its current transcript revision, one segment per line, so a match's byte
-- offset tells which segment it is in. FTS4, not FTS5: the SQLite driver
-- builds FTS3/4 by default and FTS5 only behind a build tag.
CREATE TABLE search_documents (
    docid   INTEGER PRIMARY KEY, -- the document's docid in search_index
    job_id  TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL,
    -- The start, in seconds, of each segment of the indexed revision, in
    -- the order of the body's lines.
    starts  TEXT NOT NULL DEFAULT '[]',
    -- About how many words the body has (its spaces and line breaks, plus
    -- one per segment): the length ranking needs, read with the row that
    -- filters by user instead of from the index's own table per match.
    words   INTEGER NOT NULL DEFAULT 0
);
CREATE VIRTUAL TABLE search_index USING fts4(filename, body, tokenize=unicode61 "remove_diacritics=2", prefix="2");
-- Each write transaction adds a segment to the index and a search reads
-- every segment: with automerge, writes merge two segments of a level as
-- they go, so searches read a few segments, not dozens (2 instead of 70
-- after 11,000 jobs in store/search_bench_test.go's corpus).
INSERT INTO search_index (search_index) VALUES ('automerge=2');

-- The triggers keep the index in step with jobs inside the very transaction
-- that changes a job (created, completed, edited, restored, renamed,
-- deleted, or deleted with its owner), whichever code path does it. A
-- revision's segment texts are one line each (job.OneLine), so joining
-- them with newlines keeps one line per segment.
-- +goose StatementBegin
CREATE TRIGGER search_job_created AFTER INSERT ON jobs BEGIN
    INSERT INTO search_documents (job_id, user_id, starts, words)
        SELECT new.id, new.user_id, json_group_array(s.value ->> 'start' ORDER BY s.key),
            COALESCE(sum(length(s.value ->> 'text') - length(replace(s.value ->> 'text', ' ', '')) + 1), 0)
        FROM transcript_revisions r, json_each(r.result_json, '$.segments') s WHERE r.id = new.revision_id;
    INSERT INTO search_index (docid, filename, body) VALUES ((SELECT docid FROM search_documents WHERE job_id = new.id),
        CASE WHEN new.name IN ('', new.filename) THEN new.filename ELSE new.name || char(10) || new.filename END,
        (SELECT COALESCE(string_agg(s.value ->> 'text', char(10) ORDER BY s.key), '')
         FROM transcript_revisions r, json_each(r.result_json, '$.segments') s WHERE r.id = new.revision_id));
END;
-- +goose StatementEnd

-- Every status change names revision_id, so only a real change re-indexes.
-- +goose StatementBegin
CREATE TRIGGER search_job_revised AFTER UPDATE OF revision_id ON jobs
WHEN new.revision_id IS NOT old.revision_id BEGIN
    UPDATE search_documents SET (starts, words) =
        (SELECT json_group_array(s.value ->> 'start' ORDER BY s.key),
            COALESCE(sum(length(s.value ->> 'text') - length(replace(s.value ->> 'text', ' ', '')) + 1), 0)
         FROM transcript_revisions r, json_each(r.result_json, '$.segments') s WHERE r.id = new.revision_id)
    WHERE job_id = new.id;
    UPDATE search_index SET body =
        (SELECT COALESCE(string_agg(s.value ->> 'text', char(10) ORDER BY s.key), '')
         FROM transcript_revisions r, json_each(r.result_json, '$.segments') s WHERE r.id = new.revision_id)
    WHERE docid = (SELECT docid FROM search_documents WHERE job_id = new.id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
-- The filename column holds the display name (migration 0007) and the
-- uploaded filename, so a search finds a job by either.
CREATE TRIGGER search_job_renamed AFTER UPDATE OF filename, name ON jobs
WHEN new.filename IS NOT old.filename OR new.name IS NOT old.name BEGIN
    UPDATE search_index SET filename = CASE WHEN new.name IN ('', new.filename) THEN new.filename ELSE new.name || char(10) || new.filename END
    WHERE docid = (SELECT docid FROM search_documents WHERE job_id = new.id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER search_job_deleted AFTER DELETE ON jobs BEGIN
    DELETE FROM search_index WHERE docid = (SELECT docid FROM search_documents WHERE job_id = old.id);
    DELETE FROM search_documents WHERE job_id = old.id;
END;
-- +goose StatementEnd

-- The jobs there are already.
INSERT INTO search_documents (job_id, user_id)
    SELECT id, user_id FROM jobs ORDER BY created_at, id;
UPDATE search_documents SET (starts, words) =
    (SELECT json_group_array(s.value ->> 'start' ORDER BY s.key),
        COALESCE(sum(length(s.value ->> 'text') - length(replace(s.value ->> 'text', ' ', '')) + 1), 0)
     FROM jobs j, transcript_revisions r, json_each(r.result_json, '$.segments') s
     WHERE j.id = search_documents.job_id AND r.id = j.revision_id);
INSERT INTO search_index (docid, filename, body)
    SELECT d.docid, CASE WHEN j.name IN ('', j.filename) THEN j.filename ELSE j.name || char(10) || j.filename END,
        (SELECT COALESCE(string_agg(s.value ->> 'text', char(10) ORDER BY s.key), '')
         FROM transcript_revisions r, json_each(r.result_json, '$.segments') s WHERE r.id = j.revision_id)
    FROM search_documents d JOIN jobs j ON j.id = d.job_id;

-- A job's read-only share link. Only a SHA-256 of its token is kept, so the
-- table does not hold working links; one link per job, replaced by a new
-- one, and gone when revoked or when its job is.
CREATE TABLE job_shares (
    token_hash BLOB PRIMARY KEY,
    job_id     TEXT NOT NULL UNIQUE REFERENCES jobs(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE job_shares;
DROP TRIGGER search_job_deleted;
DROP TRIGGER search_job_renamed;
DROP TRIGGER search_job_revised;
DROP TRIGGER search_job_created;
DROP TABLE search_index;
DROP TABLE search_documents;
