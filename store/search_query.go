package store

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"scribe/job"
)

// Limits of a search query, so every search's work is bounded.
const (
	MaxQueryBytes  = 200 // of the query as typed
	maxQueryTerms  = 10  // words and quoted phrases
	minPrefixRunes = 2   // before a *: the index keeps 2-letter prefixes
)

// Query is a person's search turned into a full-text expression that
// cannot fail to parse: every word and phrase is quoted, so no text typed
// is read as an operator or a column name.
type Query struct {
	expr    string
	phrases []queryPhrase // the same words, folded, for highlighting
}

// queryPhrase is one word or quoted phrase of a query, its words folded as
// the index folds them (see fold); prefix when its last word ends in *.
type queryPhrase struct {
	words  []string
	prefix bool
}

// Why a query was refused; each answers 400 with its message.
var (
	errEmptyQuery     = job.Errorf(job.CodeInvalid, "Type a word or a phrase to search for.")
	errQueryTooLong   = job.Errorf(job.CodeInvalid, "That search is too long: use at most 200 characters.")
	errTooManyTerms   = job.Errorf(job.CodeInvalid, "That search has too many words: use at most 10 words or quoted phrases.")
	errNoWords        = job.Errorf(job.CodeInvalid, "Search for words or numbers: punctuation alone matches nothing.")
	errShortPrefix    = job.Errorf(job.CodeInvalid, "A prefix search needs at least two letters before the *.")
	errLonePrefixStar = job.Errorf(job.CodeInvalid, "A * ends a word to find the words that start with it, as in transcri*.")
)

// ParseQuery reads a search as typed: words, "quoted phrases", and a *
// at the end of a word (or a phrase's last word) for every word that
// starts with it. A result must match every word and phrase. Anything but
// letters and digits separates words, as the index does.
func ParseQuery(q string) (Query, error) {
	if len(q) > MaxQueryBytes {
		return Query{}, errQueryTooLong
	}
	q = strings.ToValidUTF8(q, " ")
	if strings.TrimSpace(q) == "" {
		return Query{}, errEmptyQuery
	}
	var out Query
	var terms []string
	for len(q) > 0 {
		var raw string
		switch {
		case q[0] == '"':
			end := strings.IndexByte(q[1:], '"')
			if end < 0 { // an unclosed quote runs to the end
				raw, q = q[1:], ""
			} else {
				raw, q = q[1:1+end], q[2+end:]
			}
		case isSpace(q):
			_, size := utf8.DecodeRuneInString(q)
			q = q[size:]
			continue
		default:
			end := strings.IndexFunc(q, func(r rune) bool { return r == '"' || unicode.IsSpace(r) })
			if end < 0 {
				end = len(q)
			}
			raw, q = q[:end], q[end:]
		}
		p, err := phrase(raw)
		if err != nil {
			return Query{}, err
		}
		if len(p.words) > 0 {
			out.phrases = append(out.phrases, p)
		}
	}
	if len(out.phrases) == 0 {
		return Query{}, errNoWords
	}
	if len(out.phrases) > maxQueryTerms {
		return Query{}, errTooManyTerms
	}
	for _, p := range out.phrases {
		star := ""
		if p.prefix {
			star = "*"
		}
		terms = append(terms, `"`+strings.Join(p.words, " ")+star+`"`)
	}
	out.expr = strings.Join(terms, " ")
	return out, nil
}

func isSpace(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r)
}

// phrase reads the words of raw as one phrase, a prefix search when a *
// ends it; no words when raw has none.
func phrase(raw string) (queryPhrase, error) {
	trimmed := strings.TrimRightFunc(raw, unicode.IsSpace)
	p := queryPhrase{prefix: strings.HasSuffix(trimmed, "*")}
	words := strings.FieldsFunc(raw, func(r rune) bool { return !isWordRune(r) })
	if len(words) == 0 {
		if p.prefix {
			return p, errLonePrefixStar
		}
		return p, nil
	}
	last := words[len(words)-1]
	if p.prefix {
		// "budg*" yes; "budget.*" or "budget *" is a word and a stray star.
		if !strings.HasSuffix(strings.TrimSuffix(trimmed, "*"), last) {
			return p, errLonePrefixStar
		}
		if utf8.RuneCountInString(last) < minPrefixRunes {
			return p, errShortPrefix
		}
	}
	for _, w := range words {
		if f := fold(w); f != "" { // marks alone fold to nothing, as in tokens
			p.words = append(p.words, f)
		}
	}
	return p, nil
}

// isWordRune reports whether r is part of a word: letters, digits and the
// marks that combine with them, as SQLite's unicode61 tokenizer reads them.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r)
}

// unaccent takes the marks off letters ("é" is "e"), as the index's
// remove_diacritics option does.
var unaccent = transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)

// fold is a word as the index compares it: lower case, without accents.
// Most words are plain ASCII and skip the transformation.
func fold(w string) string {
	for i := 0; i < len(w); i++ {
		if w[i] >= utf8.RuneSelf {
			if t, _, err := transform.String(unaccent, w); err == nil {
				w = t
			}
			return strings.ToLower(w)
		}
	}
	return strings.ToLower(w)
}
