package speech

import (
	"strings"
	"unicode"
)

// NormalizeWords lower-cases text and splits it into words, dropping
// punctuation (apostrophes inside words are kept), as WER scoring wants.
func NormalizeWords(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}

// WordErrors is the word-level edit distance (substitutions, deletions,
// insertions) between a reference and a hypothesis, and the number of
// reference words; sum both over a corpus for its WER.
func WordErrors(reference, hypothesis string) (errs, words int) {
	ref, hyp := NormalizeWords(reference), NormalizeWords(hypothesis)
	// prev[j] is the distance between ref[:i] and hyp[:j].
	prev := make([]int, len(hyp)+1)
	cur := make([]int, len(hyp)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ref); i++ {
		cur[0] = i
		for j := 1; j <= len(hyp); j++ {
			sub := prev[j-1]
			if ref[i-1] != hyp[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(hyp)], len(ref)
}

// WER is the word error rate of hypothesis against reference: edits per
// reference word (it can exceed 1). An empty reference gives 0 for an
// empty hypothesis and 1 otherwise.
func WER(reference, hypothesis string) float64 {
	errs, words := WordErrors(reference, hypothesis)
	if words == 0 {
		return float64(min(errs, 1))
	}
	return float64(errs) / float64(words)
}
