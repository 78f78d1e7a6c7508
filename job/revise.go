package job

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on an edited transcript. An hour of speech is about 1,200
// segments and 9,000 words; these leave room for a day's recording while
// bounding the work one save can cause.
const (
	MaxSegments     = 50_000
	MaxSegmentWords = 2_000     // words in one segment's text or word list
	MaxSegmentText  = 20_000    // characters of one segment's text
	MaxWordText     = 200       // characters of one word
	MaxSpeaker      = 100       // characters of a speaker's name
	MaxLanguage     = 35        // characters of a language tag
	MaxText         = 1_000_000 // characters of a transcript without segments
	maxSeconds      = 24 * 60 * 60
)

// timeSlack is how far apart two times may be and still count as the
// same, and how far an edited time may pass the end of the audio: the JSON
// download rounds times to the millisecond, and a transcript read from it
// and sent back must still fit and match what it was read from.
const timeSlack = 0.001

// maxAlignCells bounds the table of one word alignment (a few MB); a
// larger one spreads the words evenly instead of matching them.
const maxAlignCells = 4 << 20

// Revise returns the transcript to save when its owner sends sent over
// prev, or a CodeInvalid error saying what is wrong with sent.
//
// The segments' text is what the transcript says; everything else follows
// it. Text and speakers are cleaned to one line; a segment whose text is
// empty is removed; the result's text is the segments' texts joined (or,
// for a transcript that never had segments, the text sent). Times
// must be finite, non-negative, within the audio, and in order: segments
// do not overlap, words lie inside their segment. Duration is prev's (it
// is the audio's), and so is the language unless sent names one.
//
// Word timings survive edits: a segment sent unchanged keeps its words; a
// segment whose words are sent keeps them when they spell its text (in
// lower case, ignoring punctuation); a segment whose text changed gets its
// words by aligning the old ones (those sent, or else prev's words that
// lie in its span) to the new text, so words still present keep their
// timings and new ones share the gaps between them. When only the words
// were edited, the text is rebuilt from them.
func Revise(prev, sent *Result) (*Result, error) {
	if sent.Segments == nil {
		return nil, Errorf(CodeInvalid, `The transcript has no "segments" list.`)
	}
	if len(sent.Segments) > MaxSegments {
		return nil, Errorf(CodeInvalid, fmt.Sprintf("A transcript may have at most %d segments.", MaxSegments))
	}
	out := &Result{Language: prev.Language, Duration: prev.Duration}
	if lang := OneLine(sent.Language); lang != "" {
		if utf8.RuneCountInString(lang) > MaxLanguage {
			return nil, Errorf(CodeInvalid, "The language is not a language tag.")
		}
		out.Language = lang
	}
	limit := float64(maxSeconds)
	if prev.Duration > 0 {
		limit = prev.Duration + timeSlack
	}
	segs := make([]Segment, len(sent.Segments))
	for i, s := range sent.Segments {
		seg, err := cleanSegment(i+1, s, limit)
		if err != nil {
			return nil, err
		}
		if i > 0 && seg.Start < segs[i-1].End {
			return nil, Errorf(CodeInvalid, fmt.Sprintf("Segment %d starts before segment %d ends; segments must be in time order and must not overlap.", i+1, i))
		}
		segs[i] = seg
	}
	pools := wordPools(prev.Segments, segs)
	matched := matchSegments(prev.Segments, segs)
	texts := make([]string, 0, len(segs))
	for i, seg := range segs {
		words, text, err := reviseWords(i+1, matched[i], seg, sent.Segments[i].Words, pools[i])
		if err != nil {
			return nil, err
		}
		if text == "" {
			continue // emptying a segment's text removes it
		}
		seg.Text, seg.Words = text, words
		out.Segments = append(out.Segments, seg)
		texts = append(texts, text)
	}
	out.Text = strings.Join(texts, " ")
	if out.Segments == nil {
		out.Segments = []Segment{}
		if len(prev.Segments) == 0 {
			// The upstream gave only text: that text is what is edited.
			if out.Text = OneLine(sent.Text); utf8.RuneCountInString(out.Text) > MaxText {
				return nil, Errorf(CodeInvalid, fmt.Sprintf("The transcript is longer than %d characters.", MaxText))
			}
		}
	}
	return out, nil
}

// ReviseSegment returns prev with the text of its nth segment (counting
// from 1) replaced, as Revise saves it; ErrNotFound when there is no such
// segment.
func ReviseSegment(prev *Result, n int, text string) (*Result, error) {
	if n < 1 || n > len(prev.Segments) {
		return nil, ErrNotFound
	}
	sent := *prev
	sent.Segments = slices.Clone(prev.Segments)
	// Without words, Revise aligns the segment's old words to the new text.
	sent.Segments[n-1].Text, sent.Segments[n-1].Words = text, nil
	return Revise(prev, &sent)
}

// cleanSegment checks the nth segment's times and cleans its text and
// speaker; its words are judged later, and only if they are used.
func cleanSegment(n int, s Segment, limit float64) (Segment, error) {
	if err := checkSpan(s.Start, s.End, limit); err != nil {
		return Segment{}, Errorf(CodeInvalid, fmt.Sprintf("Segment %d %s.", n, err))
	}
	out := Segment{Start: s.Start, End: s.End, Text: OneLine(s.Text), Speaker: OneLine(s.Speaker)}
	if utf8.RuneCountInString(out.Text) > MaxSegmentText {
		return Segment{}, Errorf(CodeInvalid, fmt.Sprintf("Segment %d is longer than %d characters; split it.", n, MaxSegmentText))
	}
	if len(strings.Fields(out.Text)) > MaxSegmentWords {
		return Segment{}, Errorf(CodeInvalid, fmt.Sprintf("Segment %d has more than %d words; split it.", n, MaxSegmentWords))
	}
	if utf8.RuneCountInString(out.Speaker) > MaxSpeaker {
		return Segment{}, Errorf(CodeInvalid, fmt.Sprintf("The speaker of segment %d is longer than %d characters.", n, MaxSpeaker))
	}
	return out, nil
}

// checkSpan says what is wrong with a start and end time, if anything.
func checkSpan(start, end, limit float64) error {
	switch {
	case math.IsNaN(start) || math.IsNaN(end) || math.IsInf(start, 0) || math.IsInf(end, 0):
		return fmt.Errorf("has a time that is not a number of seconds")
	case start < 0 || end < 0:
		return fmt.Errorf("has a negative time")
	case end < start:
		return fmt.Errorf("ends (%.3f s) before it starts (%.3f s)", end, start)
	case end > limit:
		return fmt.Errorf("ends (%.3f s) after the audio does (%.3f s)", end, limit-timeSlack)
	}
	return nil
}

// reviseWords decides the nth segment's words and text. old is the
// segment of the previous revision with the same times, if any; sent the
// words the client sent; pool the previous words lying in its span.
func reviseWords(n int, old *Segment, seg Segment, sent []Word, pool []Word) ([]Word, string, error) {
	// An empty list counts as none, so a client that drops words cannot
	// erase every timing by accident.
	given := len(sent) > 0
	if old != nil && seg.Text == old.Text && (!given || sameWords(sent, old.Words)) {
		// Unchanged: kept as saved, not judged again.
		return old.Words, seg.Text, nil
	}
	if !given {
		return align(pool, seg.Text, seg.Start, seg.End), seg.Text, nil
	}
	words, err := cleanWords(n, sent, seg)
	if err != nil {
		return nil, "", err
	}
	switch {
	case spells(words, seg.Text):
		return words, seg.Text, nil
	case old != nil && seg.Text == old.Text && len(words) > 0:
		// Only the words were edited: the text follows them.
		return words, joinWords(words), nil
	}
	return align(words, seg.Text, seg.Start, seg.End), seg.Text, nil
}

// cleanWords checks the words sent for the nth segment: finite times in
// order inside the segment, text of bounded length. Words whose text is
// empty once cleaned are dropped.
func cleanWords(n int, sent []Word, seg Segment) ([]Word, error) {
	if len(sent) > MaxSegmentWords {
		return nil, Errorf(CodeInvalid, fmt.Sprintf("Segment %d has more than %d words; split it.", n, MaxSegmentWords))
	}
	out := make([]Word, 0, len(sent))
	for k, w := range sent {
		if err := checkSpan(w.Start, w.End, math.Inf(1)); err != nil {
			return nil, Errorf(CodeInvalid, fmt.Sprintf("Word %d of segment %d %s.", k+1, n, err))
		}
		if w.Start < seg.Start || w.End > seg.End {
			return nil, Errorf(CodeInvalid, fmt.Sprintf("Word %d of segment %d lies outside the segment's times.", k+1, n))
		}
		if k > 0 && w.Start < sent[k-1].Start {
			return nil, Errorf(CodeInvalid, fmt.Sprintf("Word %d of segment %d starts before the word before it; words must be in time order.", k+1, n))
		}
		if w.Word = OneLine(w.Word); w.Word == "" {
			continue
		}
		if utf8.RuneCountInString(w.Word) > MaxWordText {
			return nil, Errorf(CodeInvalid, fmt.Sprintf("Word %d of segment %d is longer than %d characters.", k+1, n, MaxWordText))
		}
		if math.IsNaN(w.Confidence) || w.Confidence < 0 || w.Confidence > 1 {
			w.Confidence = 0
		}
		out = append(out, w)
	}
	return out, nil
}

// wordPools gives each of segs the previous words whose middle lies in
// its span, in time order.
func wordPools(prev []Segment, segs []Segment) [][]Word {
	pools := make([][]Word, len(segs))
	for _, p := range prev {
		for _, w := range p.Words {
			mid := (w.Start + w.End) / 2
			k := sort.Search(len(segs), func(k int) bool { return segs[k].End+timeSlack >= mid })
			if k < len(segs) && segs[k].Start-timeSlack <= mid {
				pools[k] = append(pools[k], w)
			}
		}
	}
	return pools
}

// matchSegments finds, for each of segs, the previous segment with the
// same times; nil where there is none.
func matchSegments(prev []Segment, segs []Segment) []*Segment {
	out := make([]*Segment, len(segs))
	p := 0
	for i, s := range segs {
		for p < len(prev) && prev[p].Start < s.Start-timeSlack {
			p++
		}
		if p < len(prev) && sameTime(prev[p].Start, s.Start) && sameTime(prev[p].End, s.End) {
			out[i] = &prev[p]
		}
	}
	return out
}

func sameTime(a, b float64) bool { return math.Abs(a-b) <= timeSlack }

// sameWords reports whether a and b are the same words at the same times.
func sameWords(a, b []Word) bool {
	return slices.EqualFunc(a, b, func(x, y Word) bool {
		return OneLine(x.Word) == y.Word && sameTime(x.Start, y.Start) && sameTime(x.End, y.End)
	})
}

// spells reports whether words say text, compared as wordKeys.
func spells(words []Word, text string) bool {
	return slices.Equal(keysOf(strings.Fields(joinWords(words))), keysOf(strings.Fields(text)))
}

func joinWords(words []Word) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = w.Word
	}
	return strings.Join(parts, " ")
}

// wordKey is a word as alignment compares it: lower case, without the
// punctuation around it, so "Hello," is the word "hello". Pure
// punctuation has no key and is not a word.
func wordKey(s string) string {
	return strings.ToLower(strings.TrimFunc(s, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) }))
}

func keysOf(tokens []string) []string {
	keys := make([]string, 0, len(tokens))
	for _, t := range tokens {
		if k := wordKey(t); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// align gives text's words timings from old, in time order, within
// [start, end]. A word of text that pairs with an old one (by wordKey, in
// order, as many as possible) is that old word with its timing; runs of
// other words share evenly the time between their neighbours. With no old
// words there are no timings to keep, and none are made up.
func align(old []Word, text string, start, end float64) []Word {
	if len(old) == 0 {
		return nil
	}
	var toks, keys []string
	for _, t := range strings.Fields(text) {
		if k := wordKey(t); k != "" {
			toks, keys = append(toks, t), append(keys, k)
		}
	}
	oldKeys := make([]string, len(old))
	for i, w := range old {
		oldKeys[i] = wordKey(w.Word)
	}
	match := pairInOrder(keys, oldKeys)
	out := make([]Word, len(toks))
	for i, m := range match {
		if m >= 0 {
			w := old[m]
			w.Start, w.End = clamp(w.Start, start, end), clamp(w.End, start, end)
			out[i] = w
		}
	}
	for i := 0; i < len(out); {
		if match[i] >= 0 {
			i++
			continue
		}
		j := i
		for j < len(out) && match[j] < 0 {
			j++
		}
		from, to := start, end
		if j < len(out) {
			to = out[j].Start
		}
		if i > 0 {
			from = min(out[i-1].End, to)
		}
		step := (to - from) / float64(j-i)
		for k := i; k < j; k++ {
			// A person typed these: their text is certain.
			out[k] = Word{Word: toks[k], Start: from + step*float64(k-i), End: from + step*float64(k-i+1), Confidence: 1}
		}
		i = j
	}
	return out
}

func clamp(t, lo, hi float64) float64 { return min(max(t, lo), hi) }

// pairInOrder pairs equal strings of a and b without crossing, as many as
// possible (a longest common subsequence): match[i] is the index in b
// paired with a[i], or -1. Common ends are paired first, so a small edit
// costs little; a middle too large to compare is left unpaired.
func pairInOrder(a, b []string) []int {
	match := make([]int, len(a))
	for i := range match {
		match[i] = -1
	}
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		match[pre] = pre
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		match[len(a)-1-suf] = len(b) - 1 - suf
		suf++
	}
	a, b = a[pre:len(a)-suf], b[pre:len(b)-suf]
	n, m := len(a), len(b)
	if n == 0 || m == 0 || n*m > maxAlignCells {
		return match
	}
	// lcs[i*(m+1)+j] is the length of the longest common subsequence of
	// a[i:] and b[j:]; it fits in uint16 as segments are bounded.
	lcs := make([]uint16, (n+1)*(m+1))
	at := func(i, j int) uint16 { return lcs[i*(m+1)+j] }
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i*(m+1)+j] = at(i+1, j+1) + 1
			} else {
				lcs[i*(m+1)+j] = max(at(i+1, j), at(i, j+1))
			}
		}
	}
	for i, j := 0, 0; i < n && j < m; {
		switch {
		case a[i] == b[j]:
			match[pre+i] = pre + j
			i, j = i+1, j+1
		case at(i+1, j) >= at(i, j+1):
			i++
		default:
			j++
		}
	}
	return match
}

// OneLine collapses every run of white space (newlines included) to one
// space and drops other control and bidi characters, so no text can break
// the framing of a subtitle file. Edits and upstream results both pass
// through it.
func OneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r):
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
