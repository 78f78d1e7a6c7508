-- +goose Up
-- Full-text search, one document per job, as SQLite's search_documents
-- and search_index (its 0008) keep them. The words are cut, lower-cased
-- and stripped of accents in Go (store.fold), not by a text search
-- configuration, so that queries, highlighting and the index on both
-- databases agree on what a word is, whatever the server's locale, and no
-- extension is needed: document holds those words as they are (weight A
-- for the filename's, D for the body's), and the queries name them as
-- they are.
--
-- The store writes a job's document in the transaction that creates,
-- completes, edits, restores or renames it (store/search_postgres.go,
-- where SQLite has triggers); deleting a job deletes it (the foreign
-- key), and the store indexes any job left without one when it opens.
CREATE TABLE search_documents (
    -- Tells equal scores apart, newest first, as SQLite's docid does.
    docid    bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    job_id   text COLLATE "C" PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    user_id  bigint NOT NULL,
    -- The display name, then the uploaded filename on a line of its own
    -- when the job was renamed.
    filename text NOT NULL,
    -- The current revision's segments, one per line.
    body     text NOT NULL,
    -- The start, in seconds, of each segment, in the order of the body's
    -- lines (a JSON array).
    starts   text NOT NULL,
    -- How many words the body has: the length ranking weighs.
    words    integer NOT NULL,
    document tsvector NOT NULL
);
CREATE INDEX search_documents_document ON search_documents USING gin (document);
CREATE INDEX search_documents_user ON search_documents (user_id);

-- Ranking weighs a match by the number of the user's documents and their
-- average length; counting them per search cost more than finding a rare
-- word. These statement triggers keep the sums in step with every write
-- to search_documents, in its transaction. Each job-changing transaction
-- has locked the change counter first (store.inChangeTx), so a user's row
-- here adds no wait of its own.
CREATE TABLE search_stats (
    user_id   bigint PRIMARY KEY,
    documents bigint NOT NULL,
    words     bigint NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION search_stats_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE search_stats s SET documents = s.documents - o.documents, words = s.words - o.words
        FROM (SELECT user_id, count(*) AS documents, sum(words) AS words FROM old_documents GROUP BY user_id) o
        WHERE s.user_id = o.user_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO search_stats AS s (user_id, documents, words)
            SELECT user_id, count(*), sum(words) FROM new_documents GROUP BY user_id ORDER BY user_id
        ON CONFLICT (user_id) DO UPDATE SET documents = s.documents + excluded.documents, words = s.words + excluded.words;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER search_stats_insert AFTER INSERT ON search_documents
    REFERENCING NEW TABLE AS new_documents FOR EACH STATEMENT EXECUTE FUNCTION search_stats_follow();
CREATE TRIGGER search_stats_update AFTER UPDATE ON search_documents
    REFERENCING OLD TABLE AS old_documents NEW TABLE AS new_documents FOR EACH STATEMENT EXECUTE FUNCTION search_stats_follow();
CREATE TRIGGER search_stats_delete AFTER DELETE ON search_documents
    REFERENCING OLD TABLE AS old_documents FOR EACH STATEMENT EXECUTE FUNCTION search_stats_follow();

-- +goose Down
DROP TABLE search_stats;
DROP FUNCTION search_stats_follow;
DROP TABLE search_documents;
