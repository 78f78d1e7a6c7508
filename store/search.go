package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"scribe/sqldb"
)

// SearchPage is one page of a user's search results, best first.
type SearchPage struct {
	Hits []SearchHit
	More bool // a further page has results
}

// SearchHit is one job that matches a search, with the segment of its
// transcript that matches best.
type SearchHit struct {
	JobID    string
	Filename Marked  // with the words that match marked
	Snippet  Marked  // the best segment's text around its matches; empty when only the filename matched
	Start    float64 // the best segment's start in seconds; 0 when only the filename matched
}

// Marked is a piece of text cut into runs, each a match or not.
type Marked []MarkedRun

// MarkedRun is a run of text that matches a search, or not.
type MarkedRun struct {
	Text  string
	Match bool
}

// String is the text without its marks.
func (m Marked) String() string {
	var b strings.Builder
	for _, r := range m {
		b.WriteString(r.Text)
	}
	return b.String()
}

// Column weights and BM25 parameters of the ranking (see rank).
const (
	filenameWeight = 2.0 // a file named after the subject is a strong sign
	bodyWeight     = 1.0
	bm25K1         = 1.2
	bm25B          = 0.75
)

// snippetBytes is about how much of a long segment a snippet shows.
const snippetBytes = 240

// Search finds the user's jobs whose filename or current transcript
// matches q and returns the page'th page (from 0) of size hits, best
// first. Ranking needs a score for every match, so it is computed for the
// user's matching jobs from counts alone; only the page's hits then load
// their text, for snippets.
func (s *Store) Search(ctx context.Context, userID int64, q Query, page, size int) (SearchPage, error) {
	scored, err := s.rank(ctx, userID, q)
	if err != nil {
		return SearchPage{}, fmt.Errorf("store: unable to search: %w", err)
	}
	from := min(page*size, len(scored))
	to := min(from+size, len(scored))
	out := SearchPage{More: to < len(scored)}
	if from == to {
		return out, nil
	}
	out.Hits, err = s.hits(ctx, q, scored[from:to])
	if err != nil {
		return SearchPage{}, fmt.Errorf("store: unable to load search results: %w", err)
	}
	return out, nil
}

type scoredDoc struct {
	docid int64
	score float64
}

// rank scores each of the user's documents that match q with Okapi BM25
// (see bm25) and sorts them best first, newest first among equals. Each
// database counts the hits its own way: search_sqlite.go and
// search_postgres.go.
func (s *Store) rank(ctx context.Context, userID int64, q Query) ([]scoredDoc, error) {
	var out []scoredDoc
	var err error
	if s.reader.Dialect == sqldb.Postgres {
		out, err = s.rankPostgres(ctx, userID, q)
	} else {
		out, err = s.rankSQLite(ctx, userID, q)
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b scoredDoc) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return int(b.docid - a.docid)
	})
	return out, nil
}

// phraseCounts are what BM25 needs of one phrase of a query, per column
// (filename, body): its hits in the document scored, and how many
// documents have a hit.
type phraseCounts struct {
	hits, docs [2]float64
}

// bm25 scores a document with Okapi BM25 summed over the phrases of the
// query and both columns, the filename's hits weighing double: n
// documents, the body's length in words against the average. Filenames
// are all short, so their length is not weighed.
func bm25(phrases []phraseCounts, n, words, avgWords float64) float64 {
	norm := [2]float64{1, 1 - bm25B + bm25B*words/max(avgWords, 1)}
	weight := [2]float64{filenameWeight, bodyWeight}
	var score float64
	for _, p := range phrases {
		for j := range 2 {
			tf, docs := p.hits[j], p.docs[j]
			if tf == 0 {
				continue
			}
			// Lucene's form of the IDF, never negative for common words.
			idf := math.Log(1 + (n-docs+0.5)/(docs+0.5))
			score += weight[j] * idf * tf * (bm25K1 + 1) / (tf + bm25K1*norm[j])
		}
	}
	return score
}

// hits loads the page's documents in their ranked order, with snippets.
func (s *Store) hits(ctx context.Context, q Query, docs []scoredDoc) ([]SearchHit, error) {
	args := make([]any, len(docs))
	for i, d := range docs {
		args[i] = d.docid
	}
	// By docid only: running the full-text query again to have offsets()
	// would walk every match a second time. The words are found in Go.
	from := `search_index.docid, d.job_id, search_index.filename, search_index.body, d.starts
		FROM search_index JOIN search_documents d ON d.docid = search_index.docid
		WHERE search_index.docid`
	if s.reader.Dialect == sqldb.Postgres {
		from = "docid, job_id, filename, body, starts FROM search_documents WHERE docid"
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT "+from+" IN (?"+strings.Repeat(", ?", len(docs)-1)+")", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byDoc := map[int64]SearchHit{}
	for rows.Next() {
		var docid int64
		var jobID, filename, body, starts string
		if err := rows.Scan(&docid, &jobID, &filename, &body, &starts); err != nil {
			return nil, err
		}
		h, err := hit(q, jobID, filename, body, starts)
		if err != nil {
			return nil, err
		}
		byDoc[docid] = h
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]SearchHit, 0, len(docs))
	for _, d := range docs {
		if h, ok := byDoc[d.docid]; ok { // gone if deleted since it was ranked
			out = append(out, h)
		}
	}
	return out, nil
}

// hit builds a result from a document's columns: the body line (segment)
// that matches the most of the query's words and phrases, then the most
// often, then the earliest, gives the snippet and the start.
func hit(q Query, jobID, filename, body, startsJSON string) (SearchHit, error) {
	h := SearchHit{JobID: jobID}
	// The indexed name is the display name, then the uploaded filename on
	// a line of its own when the job was renamed; results show the first.
	filename, _, _ = strings.Cut(filename, "\n")
	spans, _ := q.find(filename)
	h.Filename = mark(filename, spans)
	if body == "" {
		return h, nil
	}
	lines := strings.Split(body, "\n")
	best, bestPhrases, bestSpans := 0, 0, []span(nil)
	for i, line := range lines {
		spans, phrases := q.find(line)
		if phrases > bestPhrases || phrases == bestPhrases && phrases > 0 && len(spans) > len(bestSpans) {
			best, bestPhrases, bestSpans = i, phrases, spans
		}
	}
	h.Snippet = mark(lines[best], bestSpans)
	if bestPhrases > 0 {
		var starts []float64
		if err := json.Unmarshal([]byte(startsJSON), &starts); err != nil {
			return h, fmt.Errorf("segment starts of %s: %w", jobID, err)
		}
		if best < len(starts) {
			h.Start = starts[best]
		}
	}
	return h, nil
}

// span is where a match is in a text, in bytes.
type span struct{ from, to int }

// token is one word of a text, folded, and where it is.
type token struct {
	word string
	span
}

// tokens cuts text into words as the index does. A word of marks alone
// folds to nothing and is left out.
func tokens(text string) []token {
	var out []token
	add := func(from, to int) {
		if w := fold(text[from:to]); w != "" {
			out = append(out, token{w, span{from, to}})
		}
	}
	from := -1
	for i, r := range text {
		if isWordRune(r) {
			if from < 0 {
				from = i
			}
			continue
		}
		if from >= 0 {
			add(from, i)
			from = -1
		}
	}
	if from >= 0 {
		add(from, len(text))
	}
	return out
}

// find marks every occurrence in text of the query's words and phrases,
// in order, and counts how many of them occur.
func (q Query) find(text string) ([]span, int) {
	toks := tokens(text)
	marked := make([]bool, len(toks))
	found := 0
	for _, p := range q.phrases {
		hit := false
		for i := 0; i+len(p.words) <= len(toks); i++ {
			if p.matches(toks[i : i+len(p.words)]) {
				hit = true
				for k := range p.words {
					marked[i+k] = true
				}
			}
		}
		if hit {
			found++
		}
	}
	var spans []span
	for i, t := range toks {
		if marked[i] {
			spans = append(spans, t.span)
		}
	}
	return spans, found
}

// matches reports whether toks are the phrase's words.
func (p queryPhrase) matches(toks []token) bool {
	for k, w := range p.words {
		if k == len(p.words)-1 && p.prefix {
			if !strings.HasPrefix(toks[k].word, w) {
				return false
			}
		} else if toks[k].word != w {
			return false
		}
	}
	return true
}

// mark cuts text into runs with spans (in order) marked; text longer than
// snippetBytes is cut to a window around the first match, at spaces, with
// an ellipsis for what is left out.
func mark(text string, spans []span) Marked {
	from, to := 0, len(text)
	if len(text) > snippetBytes {
		first := 0
		if len(spans) > 0 {
			first = spans[0].from
		}
		from = max(0, first-snippetBytes/3)
		if i := strings.IndexByte(text[from:], ' '); from > 0 && i >= 0 && i < first-from {
			from += i + 1
		}
		to = min(len(text), from+snippetBytes)
		if i := strings.LastIndexByte(text[from:to], ' '); to < len(text) && i > 0 {
			to = from + i
		}
		for from > 0 && !utf8.RuneStart(text[from]) {
			from--
		}
		for to < len(text) && !utf8.RuneStart(text[to]) {
			to--
		}
	}
	var out Marked
	if from > 0 {
		out = append(out, MarkedRun{Text: "… "})
	}
	pos := from
	for _, m := range spans {
		if m.from < pos || m.to > to {
			continue // outside the window
		}
		if m.from > pos {
			out = append(out, MarkedRun{Text: text[pos:m.from]})
		}
		out = append(out, MarkedRun{Text: text[m.from:m.to], Match: true})
		pos = m.to
	}
	if pos < to {
		out = append(out, MarkedRun{Text: text[pos:to]})
	}
	if to < len(text) {
		out = append(out, MarkedRun{Text: " …"})
	}
	return out
}
