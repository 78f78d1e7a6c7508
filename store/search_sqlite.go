package store

import (
	"context"
	"database/sql"
	"encoding/binary"
)

// SQLite's side of search: FTS4's search_index, kept in step by the
// triggers of migrations/sqlite/0008, counts the hits in matchinfo.

// rankSQLite scores the user's documents that match q from matchinfo.
func (s *Store) rankSQLite(ctx context.Context, userID int64, q Query) ([]scoredDoc, error) {
	// The full-text table drives the join: the user filter is a lookup by
	// docid per match, and matchinfo is computed only for the user's rows.
	rows, err := s.reader.QueryContext(ctx, `SELECT d.docid, d.words, matchinfo(search_index, 'pcnax')
		FROM search_index JOIN search_documents d ON d.docid = search_index.docid
		WHERE search_index MATCH ? AND d.user_id = ?`, q.expr, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []scoredDoc
	var words float64
	var info sql.RawBytes
	counts := make([]phraseCounts, len(q.phrases))
	for rows.Next() {
		var d scoredDoc
		if err := rows.Scan(&d.docid, &words, &info); err != nil {
			return nil, err
		}
		d.score = bm25Matchinfo(info, words, counts)
		out = append(out, d)
	}
	return out, rows.Err()
}

// bm25Matchinfo scores one row with bm25 from matchinfo 'pcnax' (FTS4 has
// no ranking function): phrases p and columns c, rows n, each column's
// average length in tokens a, then per phrase and column the hits in this
// row, in all rows, and the rows with a hit. The body's length is words,
// from search_documents: matchinfo's own ('l') costs a lookup per matching
// row, which made the ranking query 1.6 times slower (3,300 matches).
// Counts are of the whole index, all users. counts is room for the
// phrases' counts.
func bm25Matchinfo(info []byte, words float64, counts []phraseCounts) float64 {
	at := func(i int) float64 { return float64(binary.NativeEndian.Uint32(info[4*i:])) }
	if len(info) < 12 {
		return 0
	}
	p, c := int(at(0)), int(at(1))
	if c != 2 || p != len(counts) || len(info) < 4*(3+c+3*p*c) {
		return 0
	}
	for i := range p {
		for j := range c {
			x := 3 + c + 3*(i*c+j)
			counts[i].hits[j], counts[i].docs[j] = at(x), at(x+2)
		}
	}
	return bm25(counts, at(2), words, at(3+1))
}
