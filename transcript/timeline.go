package transcript

import (
	"math"
	"sort"
	"strings"
	"unicode"

	"scribe/job"
)

// maxSeconds is the last time HH:MM:SS,mmm can show with two-digit hours;
// later times are treated as garbage.
const maxSeconds = 99*3600 + 59*60 + 59.999

// alignWindow is how many recognised words ahead a displayed word is looked
// for, so one word missing on either side does not throw off the rest.
const alignWindow = 4

// token is one displayed word with its time on the audio's clock.
type token struct {
	text       string
	start, end float64
	seg        int // index of the segment it came from
}

// tokens are the words to show, in order, with times that are finite,
// within [0, maxSeconds], starting in order, and each ending between its
// start and the next word's start.
//
// The words shown are the segment's text (with its capitals and
// punctuation); their times come from the recognised words they match, and
// words that match none share evenly the time between their neighbours, so
// a segment without word timings is spread over its span. A result without
// segments is one segment from 0 to its duration.
func tokens(r *job.Result) []token {
	var t timeline
	for k, s := range r.Segments {
		t.add(k, s)
	}
	if len(t.toks) == 0 {
		t.add(0, job.Segment{End: r.Duration, Text: r.Text})
	}
	return t.settle(r.Duration)
}

// timeline collects tokens and the points on the clock they hang from: each
// token's start, then each segment's end. Unknown points are NaN.
type timeline struct {
	toks    []token
	at      []int     // index in points of each token's start
	wordEnd []float64 // end of each token's recognised word, or NaN
	points  []float64
}

// add appends the words of s, the seg-th segment.
func (t *timeline) add(seg int, s job.Segment) {
	texts := displayWords(segmentText(s))
	if len(texts) == 0 {
		return
	}
	starts, ends := align(texts, s.Words)
	if math.IsNaN(starts[0]) {
		starts[0] = s.Start
	}
	for i, text := range texts {
		t.at = append(t.at, len(t.points))
		t.points = append(t.points, starts[i])
		t.wordEnd = append(t.wordEnd, ends[i])
		t.toks = append(t.toks, token{text: text, seg: seg})
	}
	t.points = append(t.points, s.End)
}

// settle fills in the tokens' times; the audio's duration bounds times at
// the end that nothing else pins down.
func (t *timeline) settle(duration float64) []token {
	p := t.points
	for i, v := range p {
		if !onClock(v) {
			p[i] = math.NaN()
		}
	}
	keepOrdered(p)
	interpolate(p, duration)
	for i := range t.toks {
		start, next := p[t.at[i]], p[t.at[i]+1]
		end := next
		if e := t.wordEnd[i]; onClock(e) {
			end = min(max(e, start), next)
		}
		t.toks[i].start, t.toks[i].end = start, end
	}
	return t.toks
}

// onClock reports whether seconds is a time subtitles can show; it is false
// for NaN.
func onClock(seconds float64) bool { return seconds >= 0 && seconds <= maxSeconds }

// keepOrdered forgets (sets to NaN) the fewest known points needed for the
// rest to be in order, so one wild time, too early or too late, is dropped
// instead of dragging its neighbours with it.
func keepOrdered(p []float64) {
	var tails []int // tails[l]: index of the lowest last point of an ordered run of l+1 points
	prev := make([]int, len(p))
	for i, v := range p {
		if math.IsNaN(v) {
			continue
		}
		l := sort.Search(len(tails), func(j int) bool { return p[tails[j]] > v })
		prev[i] = -1
		if l > 0 {
			prev[i] = tails[l-1]
		}
		if l == len(tails) {
			tails = append(tails, i)
		} else {
			tails[l] = i
		}
	}
	keep := make([]bool, len(p))
	if len(tails) > 0 {
		for i := tails[len(tails)-1]; i >= 0; i = prev[i] {
			keep[i] = true
		}
	}
	for i := range p {
		if !keep[i] {
			p[i] = math.NaN()
		}
	}
}

// interpolate spreads each run of unknown points evenly between the known
// points around it. Before the first known point the clock starts at 0;
// after the last it runs on to end if that is later, or else stands still.
func interpolate(p []float64, end float64) {
	last, lastAt := 0.0, -1
	for i := 0; i <= len(p); i++ {
		if i < len(p) && math.IsNaN(p[i]) {
			continue
		}
		next := last
		if i < len(p) {
			next = p[i]
		} else if onClock(end) && end > last {
			next = end
		}
		for k := lastAt + 1; k < i; k++ {
			p[k] = last + (next-last)*float64(k-lastAt)/float64(i-lastAt)
		}
		last, lastAt = next, i
	}
}

// segmentText is the segment's text, or its recognised words when the
// text is blank.
func segmentText(s job.Segment) string {
	if strings.TrimSpace(s.Text) != "" || len(s.Words) == 0 {
		return s.Text
	}
	words := make([]string, len(s.Words))
	for i, w := range s.Words {
		words[i] = w.Word
	}
	return strings.Join(words, " ")
}

// displayWords splits text into words that cannot break a subtitle file's
// framing: those of oneLine, with "-->", which would read as a timing line,
// made "→".
func displayWords(text string) []string {
	words := strings.Fields(job.OneLine(text))
	for i, w := range words {
		words[i] = strings.ReplaceAll(w, "-->", "→")
	}
	return words
}

// align gives each displayed word the start and end of the recognised word
// it matches, or NaN. Words match in order on their letters and digits, so
// "Hello," matches "hello".
func align(texts []string, words []job.Word) (starts, ends []float64) {
	keys := make([]string, len(words))
	for i, w := range words {
		keys[i] = matchKey(w.Word)
	}
	starts, ends = make([]float64, len(texts)), make([]float64, len(texts))
	j := 0
	for i, text := range texts {
		starts[i], ends[i] = math.NaN(), math.NaN()
		k := matchKey(text)
		if k == "" {
			continue
		}
		for d := j; d < min(j+alignWindow, len(words)); d++ {
			if keys[d] == k {
				starts[i], ends[i] = words[d].Start, words[d].End
				j = d + 1
				break
			}
		}
	}
	return starts, ends
}

// matchKey is a word's letters and digits in lower case.
func matchKey(word string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, word)
}
