package transcript

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"scribe/job"
)

// spokenWord is one word of a synthetic transcript as it should be shown.
type spokenWord struct {
	text       string
	start, end float64
	seg        int
}

var vocabulary = strings.Fields(`the a of and to in is that it was for on are with as
	they be at one have this from by hot word but what some we can out other were all
	there when up use your how said an each she which do their time if will way about
	many then them write would like so these her long make thing see him two has look
	more day could go come did number sound no most people my over know water than call
	first who may down side been now find any new work part take get place made live
	where after back little only round man year came show every good me give our under
	name very through just form sentence great think say help low line differ turn cause
	much mean before move right boy old too same tell does set three want air well also
	play small end put home read hand port large spell add even land here must big high
	such follow act why ask men change went light kind off need house picture try us
	again animal point mother world near build self earth father transcription
	subtitles broadcasting interoperability conventions extraordinarily`)

// longWord is longer than a subtitle line.
const longWord = "https://example.com/a/rather/long/path/to/a/resource/page.html"

// syntheticSpeech is about seconds of speech from a seeded generator:
// sentences of 3 to 24 words with commas, spoken at realistic speed with
// short gaps, pauses after commas and sentences and now and then a long one
// between segments of one to three sentences, as Whisper-like engines cut
// them. Most segments time each displayed word; some give bare lower-case
// words as Whisper's word timings do; some give no words at all.
func syntheticSpeech(seed uint64, seconds float64) (*job.Result, []spokenWord) {
	rng := rand.New(rand.NewPCG(seed, 0))
	between := func(lo, hi float64) float64 { return lo + rng.Float64()*(hi-lo) }
	r := &job.Result{Language: "en"}
	var spoken []spokenWord
	var texts []string
	t := 0.4
	for seg := 0; t < seconds; seg++ {
		var words []spokenWord
		for range 1 + rng.IntN(3) {
			n := 3 + rng.IntN(22)
			for i := range n {
				w := vocabulary[rng.IntN(len(vocabulary))]
				if rng.IntN(300) == 0 {
					w = longWord
				}
				if i == 0 {
					w = strings.ToUpper(w[:1]) + w[1:]
				}
				gap := between(0.02, 0.15)
				switch {
				case i == n-1:
					w += []string{".", ".", ".", ".", "?", "!"}[rng.IntN(6)]
					gap = between(0.25, 1.2)
				case rng.IntN(8) == 0:
					w += ","
					gap = between(0.15, 0.5)
				}
				d := (0.08 + 0.055*float64(utf8.RuneCountInString(w))) * between(0.7, 1.3)
				words = append(words, spokenWord{text: w, start: t, end: t + d, seg: seg})
				t += d + gap
			}
		}
		if rng.IntN(3) == 0 {
			t += between(0.8, 3)
		}
		s := job.Segment{Start: words[0].start, End: words[len(words)-1].end}
		style := rng.IntN(10)
		for _, w := range words {
			s.Text += " " + w.text
			switch {
			case style < 6:
				s.Words = append(s.Words, job.Word{Word: w.text, Start: w.start, End: w.end, Confidence: 0.9})
			case style < 9:
				bare := strings.ToLower(strings.TrimRight(w.text, ".,?!"))
				s.Words = append(s.Words, job.Word{Word: bare, Start: w.start, End: w.end, Confidence: 0.8})
			}
		}
		s.Text = strings.TrimSpace(s.Text)
		texts = append(texts, s.Text)
		r.Segments = append(r.Segments, s)
		spoken = append(spoken, words...)
	}
	r.Text = strings.Join(texts, " ")
	r.Duration = t + 1
	return r, spoken
}

// The rules from the subtitle brief, kept apart from the package's
// constants so that changing those fails the tests.
const (
	ruleLineRunes  = 42
	ruleMaxSeconds = 7.0
	ruleMinSeconds = 1.0
	rulePause      = 0.5 // a good place to break
	ruleLongPause  = 1.0 // between segments, a break a cue must not span
)

// parsedCue is a cue read back from a rendered file.
type parsedCue struct {
	start, end float64
	lines      []string
}

var timingLine = regexp.MustCompile(`^\d\d:[0-5]\d:[0-5]\d[,.]\d{3} --> \d\d:[0-5]\d:[0-5]\d[,.]\d{3}$`)

// parseSubtitles reads an SRT or VTT file strictly: numbered blocks (SRT) or
// a WEBVTT header (VTT), one timing line per cue with the format's
// separator, text lines that are neither blank nor contain "-->", and in
// VTT no markup characters except the entities it unescapes.
func parseSubtitles(t *testing.T, body, ext string) []parsedCue {
	t.Helper()
	sep := ","
	if ext == "vtt" {
		sep = "."
		rest, ok := strings.CutPrefix(body, "WEBVTT\n\n")
		if !ok {
			t.Fatalf("vtt without its header: %.80q", body)
		}
		body = rest
	}
	if body == "" {
		return nil
	}
	if !strings.HasSuffix(body, "\n\n") {
		t.Fatalf("%s does not end with a blank line: %q", ext, body[max(0, len(body)-80):])
	}
	var out []parsedCue
	for i, block := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		lines := strings.Split(block, "\n")
		if ext == "srt" {
			if got, want := lines[0], fmt.Sprint(i+1); got != want {
				t.Fatalf("srt cue %d numbered %q, want %q", i+1, got, want)
			}
			lines = lines[1:]
		}
		from, to, _ := strings.Cut(lines[0], " --> ")
		if !timingLine.MatchString(lines[0]) || !strings.Contains(from, sep) || !strings.Contains(to, sep) {
			t.Fatalf("%s cue %d: bad timing line %q", ext, i+1, lines[0])
		}
		c := parsedCue{start: seconds(t, from), end: seconds(t, to), lines: lines[1:]}
		if len(c.lines) == 0 {
			t.Fatalf("%s cue %d has no text", ext, i+1)
		}
		for j, l := range c.lines {
			if strings.TrimSpace(l) == "" || strings.Contains(l, "-->") {
				t.Fatalf("%s cue %d: line %q breaks the framing", ext, i+1, l)
			}
			if ext == "vtt" {
				if strings.ContainsAny(l, "<>") || strings.Count(l, "&") != strings.Count(l, "&amp;")+strings.Count(l, "&lt;")+strings.Count(l, "&gt;") {
					t.Fatalf("vtt cue %d: unescaped markup in %q", i+1, l)
				}
				c.lines[j] = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(l)
			}
		}
		out = append(out, c)
	}
	return out
}

// seconds reads a timestamp, [HH:]MM:SS,mmm or [HH:]MM:SS.mmm, as seconds.
func seconds(t *testing.T, stamp string) float64 {
	t.Helper()
	var total float64
	for _, part := range strings.Split(strings.Replace(stamp, ",", ".", 1), ":") {
		n, err := strconv.ParseFloat(part, 64)
		if err != nil {
			t.Fatalf("timestamp %q: %v", stamp, err)
		}
		total = total*60 + n
	}
	return math.Round(total*1000) / 1000
}

// renderCues writes r as ext ("srt" or "vtt") and parses it back.
func renderCues(t *testing.T, r *job.Result, ext string) []parsedCue {
	t.Helper()
	return parseSubtitles(t, render(t, ext, r), ext)
}

// checkRules checks the rules every subtitle file keeps, whatever the
// input: one or two lines of at most ruleLineRunes (or one long word), two
// lines only when one would not do, on screen at most ruleMaxSeconds and at
// least ruleMinSeconds unless the next cue follows sooner, in order without
// overlap, within the clock's range, and showing exactly words in order.
func checkRules(t *testing.T, cs []parsedCue, words []string) {
	t.Helper()
	const tick = 0.0005 // half a millisecond of rounding
	var shown []string
	for i, c := range cs {
		if n := len(c.lines); n > 2 {
			t.Errorf("cue %d has %d lines: %q", i+1, n, c.lines)
		}
		for _, l := range c.lines {
			if utf8.RuneCountInString(l) > ruleLineRunes && strings.Contains(l, " ") {
				t.Errorf("cue %d: line of %d characters: %q", i+1, utf8.RuneCountInString(l), l)
			}
		}
		if len(c.lines) == 2 && utf8.RuneCountInString(c.lines[0])+1+utf8.RuneCountInString(c.lines[1]) <= ruleLineRunes {
			t.Errorf("cue %d: two lines that fit on one: %q", i+1, c.lines)
		}
		if d := c.end - c.start; d > ruleMaxSeconds+tick || d < 0 {
			t.Errorf("cue %d: on screen %.3f s", i+1, d)
		}
		if c.start < 0 || c.end > maxSeconds+tick {
			t.Errorf("cue %d: %.3f → %.3f is off the clock", i+1, c.start, c.end)
		}
		short := c.end-c.start < ruleMinSeconds-tick && c.end < maxSeconds-tick
		if i+1 < len(cs) {
			next := cs[i+1]
			if next.start < c.end-tick {
				t.Errorf("cue %d (%.3f → %.3f) overlaps the next (%.3f)", i+1, c.start, c.end, next.start)
			}
			short = short && next.start-c.end > tick
		}
		if short {
			t.Errorf("cue %d: on screen %.3f s with room to stay longer", i+1, c.end-c.start)
		}
		shown = append(shown, strings.Fields(strings.Join(c.lines, " "))...)
	}
	if !slices.Equal(shown, words) {
		t.Errorf("shown %d words, want %d:\n got %.300q\nwant %.300q", len(shown), len(words), shown, words)
	}
}

func TestCuesLongTranscript(t *testing.T) {
	r, spoken := syntheticSpeech(8, 12*60)
	var words []string
	for _, w := range spoken {
		words = append(words, w.text)
	}
	srt := renderCues(t, r, "srt")
	checkRules(t, srt, words)
	t.Run("VTTMatchesSRT", func(t *testing.T) {
		vtt := renderCues(t, r, "vtt")
		if !slices.EqualFunc(vtt, srt, func(a, b parsedCue) bool {
			return a.start == b.start && a.end == b.end && slices.Equal(a.lines, b.lines)
		}) {
			t.Errorf("vtt has other cues than srt (%d and %d)", len(vtt), len(srt))
		}
	})

	// Walk the cues word by word to see where they break.
	var durations, chars []float64
	goodBreaks, lines, maxLine, w := 0, 0, 0, 0
	for i, c := range srt {
		durations = append(durations, c.end-c.start)
		chars = append(chars, float64(utf8.RuneCountInString(strings.Join(c.lines, " "))))
		lines += len(c.lines)
		for _, l := range c.lines {
			if strings.Contains(l, " ") {
				maxLine = max(maxLine, utf8.RuneCountInString(l))
			}
		}
		n := len(strings.Fields(strings.Join(c.lines, " ")))
		for k := w; k < w+n-1; k++ {
			if a, b := spoken[k], spoken[k+1]; a.seg != b.seg && b.start-a.end >= ruleLongPause {
				t.Errorf("cue %d spans %.2f s of silence between segments, after %q", i+1, b.start-a.end, a.text)
			}
		}
		w += n
		if last := spoken[w-1]; i+1 < len(srt) && (ending(last.text) != 0 || spoken[w].start-last.end >= rulePause) {
			goodBreaks++
		}
	}
	share := float64(goodBreaks) / float64(len(srt)-1)
	if share < 0.8 {
		t.Errorf("only %.0f%% of cues end at punctuation or a pause, want 80%%", 100*share)
	}
	t.Logf("%d words in %d cues over %.0f s (%.2f lines a cue, longest line of several words %d characters, %.0f%% break at punctuation or a pause)",
		len(words), len(srt), r.Duration, float64(lines)/float64(len(srt)), maxLine, 100*share)
	t.Logf("duration: median %.2f s, max %.2f s, min %.2f s", median(durations), slices.Max(durations), slices.Min(durations))
	t.Logf("characters: median %.0f, max %.0f", median(chars), slices.Max(chars))
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}

func TestCueLayout(t *testing.T) {
	timed := func(text string, gaps map[int]float64) *job.Result {
		s := job.Segment{Text: text}
		at := 0.0
		for i, w := range strings.Fields(text) {
			at += gaps[i]
			s.Words = append(s.Words, job.Word{Word: w, Start: at, End: at + 0.3})
			at += 0.35
		}
		s.End = at
		return &job.Result{Segments: []job.Segment{s}}
	}
	for _, c := range []struct {
		name   string
		r      *job.Result
		want   [][]string
		starts []float64 // of the cues, when the case is about timing
	}{
		{"OneLineWhenItFits", timed("Short and sweet.", nil), [][]string{{"Short and sweet."}}, nil},
		{"BalancedLines", timed("one two three four five six seven eight nine ten eleven", nil),
			[][]string{{"one two three four five six", "seven eight nine ten eleven"}}, nil},
		{"LineBreakAfterComma", timed("We went to the market, and then we came home again", nil),
			[][]string{{"We went to the market,", "and then we came home again"}}, nil},
		{"CueBreakAfterSentence", timed("It rained all day. So we stayed in and read books by the fire until late at night", nil),
			[][]string{{"It rained all day."}, {"So we stayed in and read books", "by the fire until late at night"}}, nil},
		{"CueBreakAtPause", timed("we looked up at the sky for a very long time and then at last we saw the bright comet pass over the hills", map[int]float64{11: 0.8}),
			[][]string{{"we looked up at the sky", "for a very long time"}, {"and then at last we saw the", "bright comet pass over the hills"}}, []float64{0, 4.65}}, // at the end of the pause
		{"LongWordOwnLine", timed("see "+longWord, nil), [][]string{{"see", longWord}}, nil},
		{"SegmentsWithoutWords", &job.Result{Segments: []job.Segment{
			{Start: 0, End: 9, Text: "a segment of nine seconds that has no word timings at all, so its words are spread evenly"},
		}}, [][]string{
			{"a segment of nine seconds that", "has no word timings at all,"},
			{"so its words are spread evenly"},
		}, []float64{0, 6}}, // 18 words over 9 s; the second cue starts at the 13th

	} {
		t.Run(c.name, func(t *testing.T) {
			var got [][]string
			var starts []float64
			for _, cue := range renderCues(t, c.r, "srt") {
				got = append(got, cue.lines)
				starts = append(starts, cue.start)
			}
			if !slices.EqualFunc(got, c.want, slices.Equal) {
				t.Errorf("got %q, want %q", got, c.want)
			}
			if c.starts != nil && !slices.Equal(starts, c.starts) {
				t.Errorf("cues start at %v, want %v", starts, c.starts)
			}
		})
	}
}

// TestCuesPartialWords has segments whose words cover only part of their
// text, as the fake upstream's do (one word, the file's stem, a segment a
// second): every segment's text is still shown, and short segments with
// short gaps share cues without being cut in the middle, which the
// end-to-end tests rely on to find each segment in the download (a segment
// longer than a line cannot be found so, whatever the layout).
func TestCuesPartialWords(t *testing.T) {
	for _, stem := range []string{"ok", "held", "flaky", "conv-007", "restart-012"} {
		for _, n := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s/%d", stem, n), func(t *testing.T) {
				r := &job.Result{Duration: float64(n)}
				var texts []string
				for k := range n {
					text := fmt.Sprintf("%s says part %d of %d", stem, k+1, n)
					texts = append(texts, text)
					r.Segments = append(r.Segments, job.Segment{Start: float64(k), End: float64(k) + 0.9, Text: text,
						Words: []job.Word{{Word: stem, Start: float64(k) + 0.1, End: float64(k) + 0.5}}})
				}
				for _, ext := range []string{"srt", "vtt"} {
					cs := renderCues(t, r, ext)
					checkRules(t, cs, strings.Fields(strings.Join(texts, " ")))
					var lines []string
					for _, c := range cs {
						lines = append(lines, c.lines...)
					}
					for _, text := range texts {
						if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, text) }) {
							t.Errorf("%s: no line holds %q: %q", ext, text, lines)
						}
					}
				}
			})
		}
	}
}

func TestCuesHostile(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, c := range []struct {
		name  string
		r     *job.Result
		words []string // shown, in order
	}{
		{"BlankLines", &job.Result{Segments: []job.Segment{
			{Start: 1, End: 3, Text: "first\n\nsecond\r\n\r\n3\n00:00:01,000 --> 00:00:02,000\nthird\u2028fourth"},
		}}, []string{"first", "second", "3", "00:00:01,000", "→", "00:00:02,000", "third", "fourth"}},
		{"Arrows", &job.Result{Segments: []job.Segment{
			{Start: 0, End: 2, Text: "a-->b --> --->c -\x00->d"},
		}}, []string{"a→b", "→", "-→c", "→d"}},
		{"Markup", &job.Result{Segments: []job.Segment{
			{Start: 0, End: 2, Text: "<b>bold</b> & <c.x>Q&amp;A"},
		}}, []string{"<b>bold</b>", "&", "<c.x>Q&amp;A"}},
		{"WordsWithNewlines", &job.Result{Segments: []job.Segment{
			{Start: 0, End: 2, Words: []job.Word{{Word: "one\n\ntwo", Start: 0, End: 1}, {Word: "-->", Start: 1, End: 2}}},
		}}, []string{"one", "two", "→"}},
		{"NonFinite", &job.Result{Duration: nan, Segments: []job.Segment{
			{Start: nan, End: inf, Text: "not a number", Words: []job.Word{
				{Word: "not", Start: nan, End: nan}, {Word: "a", Start: -inf, End: inf}, {Word: "number", Start: 2, End: 1e308}}},
			{Start: 1e308, End: -1, Text: "huge and negative"},
			{Start: 5, End: 6, Text: "fine again"},
		}}, []string{"not", "a", "number", "huge", "and", "negative", "fine", "again"}},
		{"EndBeforeStart", &job.Result{Duration: 10, Segments: []job.Segment{
			{Start: 4, End: 2, Text: "backwards segment", Words: []job.Word{{Word: "backwards", Start: 4, End: 3.5}}},
			{Start: 3, End: 3.2, Text: "overlapping the one before"},
			{Start: 9000, End: 9001, Text: "one wild time"},
			{Start: 6, End: 7, Text: "then order"},
		}}, []string{"backwards", "segment", "overlapping", "the", "one", "before", "one", "wild", "time", "then", "order"}},
		{"OneWordForAMinute", &job.Result{Segments: []job.Segment{
			{Start: 10, End: 70, Text: "hmm"},
			{Start: 70, End: 70.1, Text: "then quickly"},
		}}, []string{"hmm", "then", "quickly"}},
		{"AllHuge", &job.Result{Duration: 1e308, Segments: []job.Segment{
			{Start: 1e308, End: 1e308, Text: "lost in time"},
		}}, []string{"lost", "in", "time"}},
		{"PastTheClock", &job.Result{Segments: []job.Segment{
			{Start: maxSeconds - 0.2, End: maxSeconds, Text: "the very end"},
		}}, []string{"the", "very", "end"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, ext := range []string{"srt", "vtt"} {
				cs := renderCues(t, c.r, ext)
				checkRules(t, cs, c.words)
				for i, cue := range cs {
					if i > 0 && cue.start < cs[i-1].start {
						t.Errorf("%s cue %d starts before the one before", ext, i+1)
					}
				}
			}
		})
	}
}

func TestTimestamp(t *testing.T) {
	for _, c := range []struct {
		seconds  float64
		srt, vtt string
	}{
		{0, "00:00:00,000", "00:00:00.000"},
		{6.619999999999999, "00:00:06,620", "00:00:06.620"},
		{3723.0005, "01:02:03,001", "01:02:03.001"},
		{-5, "00:00:00,000", "00:00:00.000"},
		{maxSeconds, "99:59:59,999", "99:59:59.999"},
		{1e308, "99:59:59,999", "99:59:59.999"},
	} {
		if got, want := timestamp(c.seconds, ','), c.srt; got != want {
			t.Errorf("srt timestamp(%v) = %q, want %q", c.seconds, got, want)
		}
		if got, want := timestamp(c.seconds, '.'), c.vtt; got != want {
			t.Errorf("vtt timestamp(%v) = %q, want %q", c.seconds, got, want)
		}
	}
}

// TestDisplayWords checks the one place cue text is made safe.
func TestDisplayWords(t *testing.T) {
	got := displayWords("a\n\nb\x00c\tok\xffd -->")
	if want := []string{"a", "bc", "ok\uFFFDd", "→"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, w := range got {
		if strings.ContainsFunc(w, unicode.IsSpace) || strings.ContainsFunc(w, unicode.IsControl) {
			t.Errorf("word %q has white space or control characters", w)
		}
	}
	var b bytes.Buffer
	if err := WriteVTT(&b, &job.Result{Text: "a<b>&c", Duration: 1}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\na&lt;b&gt;&amp;c\n\n"; got != want {
		t.Errorf("vtt %q, want %q", got, want)
	}
}
