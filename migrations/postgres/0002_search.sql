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
-- Ranking counts a user's documents and their average length.
CREATE INDEX search_documents_user ON search_documents (user_id) INCLUDE (words);

-- +goose Down
DROP TABLE search_documents;
