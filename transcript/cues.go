package transcript

import (
	"math"
	"strings"
	"unicode/utf8"
)

// Subtitle limits, after broadcast practice (BBC and Netflix guidelines).
const (
	maxLineRunes     = 42  // characters on a line; a longer word gets a line of its own
	maxCueSeconds    = 7.0 // longest a cue stays up
	minCueSeconds    = 1.0 // shortest, when the next cue leaves room
	pauseSeconds     = 0.5 // a silence this long is a good place to break
	longPauseSeconds = 1.0 // no cue spans a segment boundary with this much silence
)

// Costs that choose where cues and lines break; only their relative sizes
// matter. A cue costs cueCost, so few, full cues win unless a break point is
// bad: the best is after a sentence, then at a pause, at a segment boundary,
// after a comma, and worst in the middle of a phrase. Inside a cue, a new
// sentence or segment should start a line.
const (
	cueCost      = 10.0
	shortCueCost = 10.0 // a cue that cannot stay up minCueSeconds
	sentenceCost = 0.0
	pauseCost    = 2.0
	segmentCost  = 4.0
	clauseCost   = 6.0
	phraseCost   = 20.0
	lineWeight   = 0.25 // of a two-line cue's imbalance and line-break cost
	midLineCost  = 10.0 // a sentence or segment that starts in mid-line
)

// cue is one subtitle: one or two lines on screen from start to end.
type cue struct {
	start, end float64
	lines      []string
}

// cues groups the tokens into subtitles. Of all the ways to cut the tokens
// into cues that fit (two lines of maxLineRunes, maxCueSeconds, no long
// pause at a segment boundary), it picks the cheapest by dynamic
// programming. Cues never overlap; one too short for minCueSeconds is
// extended into the silence after it, as far as the next cue.
func cues(toks []token) []cue {
	n := len(toks)
	if n == 0 {
		return nil
	}
	l := measure(toks)
	best := make([]float64, n+1) // best[b]: least cost of cutting toks[:b] into cues
	from := make([]int, n+1)     // where the last cue of that cutting starts
	split := make([]int, n+1)    // and where its second line starts, or 0
	for b := 1; b <= n; b++ {
		best[b] = math.Inf(1)
	}
	for a := range n {
		for b := a + 1; b <= n; b++ {
			if b > a+1 && (forcedBreak(toks, b-2) || toks[b-1].end-toks[a].start > maxCueSeconds) {
				break
			}
			k, linesCost, ok := l.breakLines(a, b)
			if !ok {
				break // adding words only makes the lines longer
			}
			cost := best[a] + cueCost + linesCost
			room := math.Inf(1)
			if b < n {
				cost += l.brk[b-1]
				room = toks[b].start - toks[a].start
			}
			if room < minCueSeconds {
				cost += shortCueCost
			}
			if cost < best[b] {
				best[b], from[b], split[b] = cost, a, k
			}
		}
	}
	var out []cue
	for b := n; b > 0; b = from[b] {
		a := from[b]
		c := cue{start: toks[a].start, end: toks[b-1].end}
		if k := split[b]; k > 0 {
			c.lines = []string{joinTokens(toks[a:k]), joinTokens(toks[k:b])}
		} else {
			c.lines = []string{joinTokens(toks[a:b])}
		}
		out = append(out, c)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	for i := range out {
		c := &out[i]
		next := maxSeconds
		if i+1 < len(out) {
			next = out[i+1].start
		}
		c.end = min(c.end, c.start+maxCueSeconds)
		if c.end-c.start < minCueSeconds {
			c.end = min(c.start+minCueSeconds, next)
		}
	}
	return out
}

// forcedBreak reports whether a cue must end after toks[i]: the next word
// is in another segment, after a long pause.
func forcedBreak(toks []token, i int) bool {
	return toks[i].seg != toks[i+1].seg && toks[i+1].start-toks[i].end >= longPauseSeconds
}

// breakCost is how bad a break after toks[i] is; longer pauses are better
// still, up to two seconds.
func breakCost(toks []token, i int) float64 {
	cost := phraseCost
	switch ending(toks[i].text) {
	case '.':
		cost = sentenceCost
	case ',':
		cost = clauseCost
	}
	if toks[i].seg != toks[i+1].seg {
		cost = min(cost, segmentCost)
	}
	gap := toks[i+1].start - toks[i].end
	if gap >= pauseSeconds {
		cost = min(cost, pauseCost)
	}
	return cost - min(gap, 2)
}

// ending is '.' for a word that ends a sentence, ',' for one that ends a
// clause and 0 otherwise; closing quotes and brackets are looked through.
func ending(word string) rune {
	word = strings.TrimRight(word, `"')]}»”’`)
	r, _ := utf8.DecodeLastRuneInString(word)
	switch {
	case strings.ContainsRune(".?!…。？！", r):
		return '.'
	case strings.ContainsRune(",;:—，、；：", r):
		return ','
	}
	return 0
}

// lineMeasure measures runs of tokens as subtitle lines.
type lineMeasure struct {
	prefix []int     // prefix[i]: characters in toks[:i]
	starts []int     // starts[i]: tokens in toks[1:i] that start a sentence or segment
	brk    []float64 // brk[i]: breakCost after toks[i]
}

func measure(toks []token) lineMeasure {
	l := lineMeasure{make([]int, len(toks)+1), make([]int, len(toks)+1), make([]float64, len(toks)-1)}
	for i, t := range toks {
		if i+1 < len(toks) {
			l.brk[i] = breakCost(toks, i)
		}
		l.prefix[i+1] = l.prefix[i] + utf8.RuneCountInString(t.text)
		l.starts[i+1] = l.starts[i]
		if i > 0 && (ending(toks[i-1].text) == '.' || toks[i-1].seg != t.seg) {
			l.starts[i+1]++
		}
	}
	return l
}

// width is the characters of toks[a:b] on one line.
func (l lineMeasure) width(a, b int) int { return l.prefix[b] - l.prefix[a] + b - a - 1 }

// fits reports whether toks[a:b] may be one line.
func (l lineMeasure) fits(a, b int) bool { return b-a == 1 || l.width(a, b) <= maxLineRunes }

// breakLines lays toks[a:b] out as one line if it fits, or else as two,
// breaking at k where the lines are most even, preferring punctuation and
// the start of a sentence or segment. ok is false when two lines cannot
// hold the words.
func (l lineMeasure) breakLines(a, b int) (k int, cost float64, ok bool) {
	midLine := l.starts[b] - l.starts[a+1] // starts after toks[a]
	if l.fits(a, b) {
		return 0, midLineCost * float64(midLine), true
	}
	cost = math.Inf(1)
	for i := a + 1; i < b; i++ {
		if !l.fits(a, i) || !l.fits(i, b) {
			continue
		}
		c := lineWeight*(math.Abs(float64(l.width(a, i)-l.width(i, b)))+l.brk[i-1]/2) +
			midLineCost*float64(midLine-(l.starts[i+1]-l.starts[i]))
		if c < cost {
			k, cost = i, c
		}
	}
	return k, cost, k > 0
}

// joinTokens is the tokens' text as one line.
func joinTokens(toks []token) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.text)
	}
	return b.String()
}
