package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"scribe/sqldb"
)

// PostgreSQL's side of search (migrations/postgres/0002_search.sql): each
// job's document is written here, in the transaction that changes the
// job, as a tsvector of the words tokens finds, and ranked with the counts
// ts_rank_cd gives.

// Limits of a tsvector: PostgreSQL keeps positions up to 16,383 and 256
// of them per word (more are dropped), and at most 1 MiB of distinct
// words.
const (
	maxTSPosition      = 16383
	maxTSPositions     = 256
	maxTSLexemeBytes   = 2047
	maxTSDocumentBytes = 1<<20 - 1
)

// searchDoc is a job's search document as PostgreSQL keeps it.
type searchDoc struct {
	jobID    string
	userID   int64
	filename string // the display name, then the uploaded filename when they differ
	body     string // one segment a line
	starts   string // each segment's start, a JSON array
	words    int32
	document string // the tsvector, in its text form
}

// newSearchDoc makes a job's document from its names and its current
// revision's result (NULL before it has one): the same columns SQLite's
// triggers write.
func newSearchDoc(jobID string, userID int64, filename, name string, result sql.NullString) (searchDoc, error) {
	d := searchDoc{jobID: jobID, userID: userID, filename: filename, starts: "[]"}
	if name != "" && name != filename {
		d.filename = name + "\n" + filename
	}
	if result.Valid {
		var r struct {
			Segments []struct {
				Start float64 `json:"start"`
				Text  string  `json:"text"`
			} `json:"segments"`
		}
		if err := json.Unmarshal([]byte(result.String), &r); err != nil {
			return d, fmt.Errorf("result of %s: %w", jobID, err)
		}
		lines := make([]string, len(r.Segments))
		starts := make([]float64, len(r.Segments))
		for i, s := range r.Segments {
			lines[i], starts[i] = s.Text, s.Start
		}
		d.body = strings.Join(lines, "\n")
		raw, err := json.Marshal(starts)
		if err != nil {
			return d, err
		}
		d.starts = string(raw)
	}
	d.document, d.words = tsvectorOf(d.filename, d.body)
	return d, nil
}

// tsvectorOf is the text form of a tsvector of the words of filename, at
// weight A, then those of body, at D, each with its positions, so that
// phrases match. A position is skipped between the two, so no phrase
// spans them. It also returns how many words body has.
func tsvectorOf(filename, body string) (string, int32) {
	type lexeme struct {
		word      string
		positions []string
	}
	var order []*lexeme
	byWord := map[string]*lexeme{}
	size, pos := 0, 0
	add := func(text, weight string) int32 {
		n := int32(0)
		for _, t := range tokens(text) {
			n++
			pos = min(pos+1, maxTSPosition)
			if len(t.word) > maxTSLexemeBytes {
				continue
			}
			l := byWord[t.word]
			if l == nil {
				if size+len(t.word) > maxTSDocumentBytes {
					continue
				}
				size += len(t.word)
				l = &lexeme{word: t.word}
				byWord[t.word] = l
				order = append(order, l)
			}
			if len(l.positions) < maxTSPositions {
				l.positions = append(l.positions, strconv.Itoa(pos)+weight)
			}
		}
		return n
	}
	add(filename, "A")
	pos++
	words := add(body, "")
	var b strings.Builder
	for i, l := range order {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quoteLexeme(l.word))
		b.WriteByte(':')
		b.WriteString(strings.Join(l.positions, ","))
	}
	return b.String(), words
}

var lexemeQuoter = strings.NewReplacer(`\`, `\\`, `'`, `''`)

// quoteLexeme quotes a word for a tsvector's or a tsquery's text form.
// Words are letters and digits, but the quoting does not rely on it.
func quoteLexeme(w string) string {
	return "'" + lexemeQuoter.Replace(w) + "'"
}

// tsquery is the phrase as a tsquery, in text form.
func (p queryPhrase) tsquery() string {
	parts := make([]string, len(p.words))
	for i, w := range p.words {
		parts[i] = quoteLexeme(w)
		if p.prefix && i == len(p.words)-1 {
			parts[i] += ":*"
		}
	}
	return strings.Join(parts, " <-> ")
}

// rankPostgres scores the user's documents that match q, and returns
// the size of them from the from'th, best first, and whether more follow:
// the same BM25 as bm25, computed in SQL, so that only the page's rows
// come back. Documents are counted among the user's own: the number of
// them and their average length from search_stats, and how many have a
// hit of each phrase from the documents with any phrase; of those, the
// ones with every phrase are the matches.
//
// ts_rank_cd with no normalisation adds up, over a one-phrase query's
// occurrences, the weight of their words' class, so it counts hits. With
// the body's words (D) weighing 1 and the filename's (A) 1/256, one call
// gives both counts: the body's hits in the whole part, the filename's,
// fewer than 256, in the fraction. A real has room for both exactly up to
// 65,535 body hits, more than a document keeps.
func (s *Store) rankPostgres(ctx context.Context, userID int64, q Query, from, size int) ([]scoredDoc, bool, error) {
	var ranks, counts, docs, every, anyOf, score []string
	var args []any
	for i, p := range q.phrases {
		ranks = append(ranks, fmt.Sprintf("ts_rank_cd('{1,0,0,0.00390625}', document, ?::tsquery, 0) AS r%d", i))
		args = append(args, p.tsquery())
		anyOf = append(anyOf, "("+p.tsquery()+")")
		counts = append(counts, fmt.Sprintf("round((r%[1]d - floor(r%[1]d)) * 256) AS f%[1]d, floor(r%[1]d) AS b%[1]d", i))
		docs = append(docs, fmt.Sprintf("(count(*) FILTER (WHERE f%[1]d > 0) OVER ())::float8 AS df%[1]d, (count(*) FILTER (WHERE b%[1]d > 0) OVER ())::float8 AS db%[1]d", i))
		every = append(every, fmt.Sprintf("(f%[1]d > 0 OR b%[1]d > 0)", i))
		score = append(score, bm25Term(fmt.Sprint("f", i), fmt.Sprint("df", i), filenameWeight, "1"),
			bm25Term(fmt.Sprint("b", i), fmt.Sprint("db", i), bodyWeight, bm25Norm))
	}
	args = append(args, userID, strings.Join(anyOf, " | "), userID, size, from)
	// MATERIALIZED: ts_rank_cd runs once a row, not once a mention of its
	// result in the queries on top.
	rows, err := s.reader.QueryContext(ctx, `WITH hits AS MATERIALIZED (
			SELECT docid, words, `+strings.Join(ranks, ", ")+`
			FROM search_documents WHERE user_id = ? AND document @@ ?::tsquery
		), counted AS (
			SELECT docid, words::float8 AS words, `+strings.Join(counts, ", ")+` FROM hits
		), scored AS (
			SELECT *, `+strings.Join(docs, ", ")+` FROM counted
		)
		SELECT docid, `+strings.Join(score, " + ")+` AS score, count(*) OVER ()
		FROM scored, (SELECT documents::float8, words::float8 / greatest(documents, 1) FROM search_stats WHERE user_id = ?)
			AS stats (n, avg)
		WHERE `+strings.Join(every, " AND ")+`
		ORDER BY score DESC, docid DESC LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []scoredDoc
	var total int
	for rows.Next() {
		var d scoredDoc
		if err := rows.Scan(&d.docid, &d.score, &total); err != nil {
			return nil, false, err
		}
		out = append(out, d)
	}
	return out, from+len(out) < total, rows.Err()
}

// bm25Norm is bm25's factor of the body's length, in SQL.
var bm25Norm = fmt.Sprintf("(%g + %g * words / greatest(avg, 1))", 1-bm25B, bm25B)

// bm25Term is one phrase's and column's term of bm25 in SQL: hits tf in a
// column of the given weight, docs with a hit, norm the length's factor.
// n is the number of documents. All are float8: numeric arithmetic made
// the ranking of 10,000 matches several times slower.
func bm25Term(tf, docs string, weight float64, norm string) string {
	return fmt.Sprintf("%g * ln(1 + (n - %[2]s + 0.5) / (%[2]s + 0.5)) * %[3]s * %[4]g / (%[3]s + %[5]g * %[6]s)",
		weight, docs, tf, bm25K1+1, bm25K1, norm)
}

// reindex writes the search document of job jobID afresh, in the
// transaction that created it, renamed it or changed its current
// revision. On SQLite, migration 0008's triggers do it.
func reindex(ctx context.Context, tx *sqldb.Tx, jobID string) error {
	if tx.Dialect != sqldb.Postgres {
		return nil
	}
	docs, err := loadSearchDocs(ctx, tx, "j.id = ?", jobID)
	if err != nil {
		return fmt.Errorf("search document of %s: %w", jobID, err)
	}
	return writeSearchDocs(ctx, tx, docs, "(job_id) DO UPDATE SET user_id = excluded.user_id, filename = excluded.filename, body = excluded.body, starts = excluded.starts, words = excluded.words, document = excluded.document")
}

// indexUnindexed writes the documents of the jobs that have none, on
// PostgreSQL: every job when migration 0002 has just made the table, and
// any job written other than through the store. 500 at a time, oldest
// first, so docids follow the jobs' order. A document that appears
// meanwhile (another replica's write) is newer, and stays.
func (s *Store) indexUnindexed(ctx context.Context) error {
	if s.writer.Dialect != sqldb.Postgres {
		return nil
	}
	const batch = 500
	for {
		var n int
		err := s.inTx(ctx, func(tx *sqldb.Tx) error {
			docs, err := loadSearchDocs(ctx, tx, `NOT EXISTS (SELECT 1 FROM search_documents d WHERE d.job_id = j.id)
				ORDER BY j.created_at, j.id LIMIT ?`, batch)
			if err != nil {
				return err
			}
			n = len(docs)
			return writeSearchDocs(ctx, tx, docs, "DO NOTHING")
		})
		if err != nil {
			return fmt.Errorf("store: unable to index jobs for search: %w", err)
		}
		if n < batch {
			return nil
		}
	}
}

// loadSearchDocs makes the documents of the jobs that meet cond.
func loadSearchDocs(ctx context.Context, tx *sqldb.Tx, cond string, args ...any) ([]searchDoc, error) {
	rows, err := tx.QueryContext(ctx, `SELECT j.id, j.user_id, j.filename, j.name, r.result_json
		FROM jobs j LEFT JOIN transcript_revisions r ON r.id = j.revision_id WHERE `+cond, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var docs []searchDoc
	for rows.Next() {
		var id, filename, name string
		var userID int64
		var result sql.NullString
		if err := rows.Scan(&id, &userID, &filename, &name, &result); err != nil {
			return nil, err
		}
		d, err := newSearchDoc(id, userID, filename, name, result)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	return docs, rows.Err()
}

// writeSearchDocs inserts docs in one statement, in their order, doing
// onConflict when a job has one already.
func writeSearchDocs(ctx context.Context, tx *sqldb.Tx, docs []searchDoc, onConflict string) error {
	if len(docs) == 0 {
		return nil
	}
	cols := struct {
		jobs, filenames, bodies, starts, documents []string
		users                                      []int64
		words                                      []int32
	}{}
	for _, d := range docs {
		cols.jobs = append(cols.jobs, d.jobID)
		cols.users = append(cols.users, d.userID)
		cols.filenames = append(cols.filenames, d.filename)
		cols.bodies = append(cols.bodies, d.body)
		cols.starts = append(cols.starts, d.starts)
		cols.words = append(cols.words, d.words)
		cols.documents = append(cols.documents, d.document)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO search_documents (job_id, user_id, filename, body, starts, words, document)
		SELECT * FROM unnest(?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::integer[], ?::text[]::tsvector[])
		ON CONFLICT `+onConflict, cols.jobs, cols.users, cols.filenames, cols.bodies, cols.starts, cols.words, cols.documents)
	return err
}
