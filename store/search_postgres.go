package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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
// revision's result, invalid before it has one: the same columns SQLite's
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
				l.positions = append(l.positions, fmt.Sprint(pos)+weight)
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

// quoteLexeme quotes a word for a tsvector's or a tsquery's text form.
// Words are letters and digits, but the quoting does not rely on it.
func quoteLexeme(w string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(w) + "'"
}

// tsquery is the phrase as a tsquery, in text form, matching only words
// of weight (A the filename, D the body; "" either).
func (p queryPhrase) tsquery(weight string) string {
	parts := make([]string, len(p.words))
	for i, w := range p.words {
		label := weight
		if p.prefix && i == len(p.words)-1 {
			label = "*" + weight
		}
		parts[i] = quoteLexeme(w)
		if label != "" {
			parts[i] += ":" + label
		}
	}
	return strings.Join(parts, " <-> ")
}

// rankPostgres scores the user's documents that match q. Documents are
// counted among the user's own: the number of them, their average length,
// and how many have a hit of each phrase, read from the documents with
// any phrase; of those, the ones with every phrase are the matches.
// ts_rank_cd with every weight 1 and no normalisation counts a phrase's
// occurrences (the covers of a one-phrase query), once for the filename's
// words and once for the body's.
func (s *Store) rankPostgres(ctx context.Context, userID int64, q Query) ([]scoredDoc, error) {
	var columns, anyOf []string
	var args []any
	for _, p := range q.phrases {
		anyOf = append(anyOf, "("+p.tsquery("")+")")
		columns = append(columns, "ts_rank_cd('{1,1,1,1}', d.document, ?::tsquery, 0)", "ts_rank_cd('{1,1,1,1}', d.document, ?::tsquery, 0)")
		args = append(args, p.tsquery("A"), p.tsquery("D"))
	}
	args = append(args, userID, userID, strings.Join(anyOf, " | "))
	rows, err := s.reader.QueryContext(ctx, `SELECT d.docid, d.words, st.n, st.avg, `+strings.Join(columns, ", ")+`
		FROM search_documents d,
			(SELECT count(*), COALESCE(avg(words), 0) FROM search_documents WHERE user_id = ?) AS st (n, avg)
		WHERE d.user_id = ? AND d.document @@ ?::tsquery`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type row struct {
		docid int64
		words float64
		hits  []float64 // per phrase, in the filename then in the body
	}
	var found []row
	var n, avg float64
	docs := make([]phraseCounts, len(q.phrases))
	for rows.Next() {
		r := row{hits: make([]float64, 2*len(q.phrases))}
		dest := []any{&r.docid, &r.words, &n, &avg}
		for i := range r.hits {
			dest = append(dest, &r.hits[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		for i := range q.phrases {
			for j := range 2 {
				if r.hits[2*i+j] > 0 {
					docs[i].docs[j]++
				}
			}
		}
		found = append(found, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []scoredDoc
	counts := make([]phraseCounts, len(q.phrases))
rows:
	for _, r := range found {
		for i := range q.phrases {
			if r.hits[2*i]+r.hits[2*i+1] == 0 {
				continue rows // a match needs every phrase
			}
			counts[i] = phraseCounts{hits: [2]float64{r.hits[2*i], r.hits[2*i+1]}, docs: docs[i].docs}
		}
		out = append(out, scoredDoc{docid: r.docid, score: bm25(counts, n, r.words, avg)})
	}
	return out, nil
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
