package job

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// fox is a transcript of two segments with word timings.
func fox() *Result {
	return &Result{Text: "The quick brown fox. Jumps over it.", Language: "en", Duration: 10, Segments: []Segment{
		{Start: 0.5, End: 2.5, Text: "The quick brown fox.", Speaker: "Ann", Words: []Word{
			{Word: "the", Start: 0.5, End: 0.7, Confidence: 0.9},
			{Word: "quick", Start: 0.8, End: 1.2, Confidence: 0.8},
			{Word: "brown", Start: 1.3, End: 1.7, Confidence: 0.7},
			{Word: "fox", Start: 1.9, End: 2.4, Confidence: 0.6},
		}},
		{Start: 3.0, End: 4.2, Text: "Jumps over it.", Speaker: "Bob", Words: []Word{
			{Word: "jumps", Start: 3.0, End: 3.4, Confidence: 0.9},
			{Word: "over", Start: 3.5, End: 3.8, Confidence: 0.9},
			{Word: "it", Start: 3.9, End: 4.2, Confidence: 0.9},
		}},
	}}
}

// clone deep-copies r, as a client's decoded request would be.
func clone(r *Result) *Result {
	out := *r
	out.Segments = make([]Segment, len(r.Segments))
	for i, s := range r.Segments {
		s.Words = append([]Word(nil), s.Words...)
		out.Segments[i] = s
	}
	return &out
}

func revise(t *testing.T, prev, sent *Result) *Result {
	t.Helper()
	got, err := Revise(prev, sent)
	if err != nil {
		t.Fatalf("Revise: %v", err)
	}
	return got
}

func wordTexts(ws []Word) string { return joinWords(ws) }

func TestReviseUnchanged(t *testing.T) {
	prev := fox()
	got := revise(t, prev, clone(prev))
	if !reflect.DeepEqual(got, prev) {
		t.Fatalf("a transcript sent back unchanged changed:\n got %+v\nwant %+v", got, prev)
	}
}

// TestReviseRoundedTimes sends back times rounded to the millisecond, as
// the JSON download gives them: the segments count as unchanged and keep
// their exact word timings.
func TestReviseRoundedTimes(t *testing.T) {
	prev := fox()
	prev.Segments[0].Words[1].Start = 0.80041
	prev.Segments[1].End, prev.Duration = 4.20049, 4.20049
	sent := clone(prev)
	for i := range sent.Segments {
		s := &sent.Segments[i]
		s.Start, s.End = math.Round(s.Start*1000)/1000, math.Round(s.End*1000)/1000
		for k := range s.Words {
			s.Words[k].Start, s.Words[k].End = math.Round(s.Words[k].Start*1000)/1000, math.Round(s.Words[k].End*1000)/1000
		}
	}
	got := revise(t, prev, sent)
	if g, w := got.Segments[0].Words[1].Start, 0.80041; g != w {
		t.Fatalf("word start %v, want the exact %v kept", g, w)
	}
}

func TestReviseSegmentText(t *testing.T) {
	prev := fox()
	check := func(t *testing.T, got *Result) {
		t.Helper()
		seg := got.Segments[0]
		if g, w := seg.Text, "The quick red fox."; g != w {
			t.Fatalf("text %q, want %q", g, w)
		}
		if g, w := wordTexts(seg.Words), "the quick red fox"; g != w {
			t.Fatalf("words %q, want %q", g, w)
		}
		for _, k := range []int{0, 1, 3} {
			old := prev.Segments[0].Words[[]int{0, 1, -1, 3}[k]]
			if seg.Words[k] != old {
				t.Errorf("word %d = %+v, want its old timing %+v", k, seg.Words[k], old)
			}
		}
		// "red" fills the gap between "quick" and "fox".
		if red := seg.Words[2]; red.Start != 1.2 || red.End != 1.9 || red.Confidence != 1 {
			t.Errorf("new word %+v, want 1.2-1.9 with confidence 1", red)
		}
		if g, w := got.Text, "The quick red fox. Jumps over it."; g != w {
			t.Errorf("result text %q, want %q", g, w)
		}
		if !reflect.DeepEqual(got.Segments[1], prev.Segments[1]) {
			t.Errorf("the other segment changed: %+v", got.Segments[1])
		}
	}
	t.Run("WithoutWords", func(t *testing.T) {
		sent := clone(prev)
		sent.Segments[0].Text, sent.Segments[0].Words = "The quick red fox.", nil
		check(t, revise(t, prev, sent))
	})
	t.Run("WithStaleWords", func(t *testing.T) {
		// A client that edits the text and sends the words back as read.
		sent := clone(prev)
		sent.Segments[0].Text = "The quick red fox."
		check(t, revise(t, prev, sent))
	})
	t.Run("Form", func(t *testing.T) {
		got, err := ReviseSegment(prev, 1, "The quick red\r\nfox.")
		if err != nil {
			t.Fatal(err)
		}
		check(t, got)
	})
}

func TestReviseWords(t *testing.T) {
	prev := fox()
	t.Run("OnlyWordEdited", func(t *testing.T) {
		sent := clone(prev)
		sent.Segments[1].Words[2].Word = "them"
		got := revise(t, prev, sent)
		if g, w := got.Segments[1].Text, "jumps over them"; g != w {
			t.Fatalf("text %q, want it rebuilt from the words as %q", g, w)
		}
		if g, w := got.Segments[1].Words[2], (Word{Word: "them", Start: 3.9, End: 4.2, Confidence: 0.9}); g != w {
			t.Fatalf("edited word %+v, want %+v", g, w)
		}
	})
	t.Run("TextAndWordsEdited", func(t *testing.T) {
		sent := clone(prev)
		sent.Segments[1].Text = "Jumps over them."
		sent.Segments[1].Words[2].Word = "them"
		got := revise(t, prev, sent)
		if g, w := got.Segments[1].Text, "Jumps over them."; g != w {
			t.Fatalf("text %q, want %q", g, w)
		}
		if g, w := got.Segments[1].Words[2].Start, 3.9; g != w {
			t.Fatalf("edited word starts %v, want %v", g, w)
		}
	})
	t.Run("Retimed", func(t *testing.T) {
		sent := clone(prev)
		sent.Segments[1].Words[0].End = 3.3
		got := revise(t, prev, sent)
		if g, w := got.Segments[1].Words[0].End, 3.3; g != w {
			t.Fatalf("word end %v, want %v", g, w)
		}
	})
}

func TestReviseSplitMerge(t *testing.T) {
	prev := fox()
	t.Run("Split", func(t *testing.T) {
		sent := clone(prev)
		first := Segment{Start: 0.5, End: 1.25, Text: "The quick", Speaker: "Ann"}
		second := Segment{Start: 1.25, End: 2.5, Text: "brown fox.", Speaker: "Ann"}
		sent.Segments = append([]Segment{first, second}, sent.Segments[1:]...)
		got := revise(t, prev, sent)
		if len(got.Segments) != 3 {
			t.Fatalf("%d segments, want 3", len(got.Segments))
		}
		if !reflect.DeepEqual(got.Segments[0].Words, prev.Segments[0].Words[:2]) ||
			!reflect.DeepEqual(got.Segments[1].Words, prev.Segments[0].Words[2:]) {
			t.Fatalf("split words %+v | %+v, want the old words each side", got.Segments[0].Words, got.Segments[1].Words)
		}
	})
	t.Run("Merge", func(t *testing.T) {
		sent := clone(prev)
		sent.Segments = []Segment{{Start: 0.5, End: 4.2, Text: "The quick brown fox jumps over it.", Speaker: "Ann"}}
		got := revise(t, prev, sent)
		want := append(append([]Word(nil), prev.Segments[0].Words...), prev.Segments[1].Words...)
		if !reflect.DeepEqual(got.Segments[0].Words, want) {
			t.Fatalf("merged words %+v, want %+v", got.Segments[0].Words, want)
		}
	})
}

func TestReviseSpeakerRename(t *testing.T) {
	prev := fox()
	sent := clone(prev)
	sent.Segments[1].Speaker = "  Robert\n"
	got := revise(t, prev, sent)
	if g, w := got.Segments[1].Speaker, "Robert"; g != w {
		t.Fatalf("speaker %q, want %q", g, w)
	}
	if !reflect.DeepEqual(got.Segments[1].Words, prev.Segments[1].Words) {
		t.Fatalf("renaming a speaker changed the words: %+v", got.Segments[1].Words)
	}
}

func TestReviseRemovesEmptySegment(t *testing.T) {
	prev := fox()
	sent := clone(prev)
	sent.Segments[0].Text = " \n "
	got := revise(t, prev, sent)
	if len(got.Segments) != 1 || got.Text != "Jumps over it." {
		t.Fatalf("got %d segments, text %q; want the emptied one removed", len(got.Segments), got.Text)
	}
	none := clone(prev)
	none.Segments = []Segment{}
	if got := revise(t, prev, none); got.Segments == nil || len(got.Segments) != 0 || got.Text != "" {
		t.Fatalf("an emptied transcript: %+v", got)
	}
}

// TestReviseTextOnly edits a transcript the upstream gave as text alone.
func TestReviseTextOnly(t *testing.T) {
	prev := &Result{Text: "only text", Duration: 5}
	got := revise(t, prev, &Result{Text: "only\ntext, fixed", Segments: []Segment{}})
	if got.Text != "only text, fixed" || len(got.Segments) != 0 {
		t.Fatalf("got %+v", got)
	}
	if _, err := Revise(prev, &Result{Text: strings.Repeat("a", MaxText+1), Segments: []Segment{}}); ErrorCode(err) != CodeInvalid {
		t.Fatalf("over-long text: %v", err)
	}
}

// TestReviseInventsNoTimings edits a transcript whose upstream gave no word
// timings: none appear.
func TestReviseInventsNoTimings(t *testing.T) {
	prev := &Result{Duration: 5, Segments: []Segment{{Start: 0, End: 5, Text: "no words here"}}}
	got, err := ReviseSegment(prev, 1, "no timings here")
	if err != nil {
		t.Fatal(err)
	}
	if got.Segments[0].Words != nil {
		t.Fatalf("words %+v, want none", got.Segments[0].Words)
	}
}

func TestReviseKeepsDurationAndLanguage(t *testing.T) {
	prev := fox()
	sent := clone(prev)
	sent.Duration, sent.Language, sent.Text = 99, "", "ignored"
	got := revise(t, prev, sent)
	if got.Duration != 10 || got.Language != "en" || got.Text != prev.Text {
		t.Fatalf("duration %v, language %q, text %q", got.Duration, got.Language, got.Text)
	}
	sent.Language = "de"
	if got := revise(t, prev, sent); got.Language != "de" {
		t.Fatalf("language %q, want the one sent", got.Language)
	}
}

func TestReviseInvalid(t *testing.T) {
	cases := []struct {
		name, want string
		edit       func(r *Result)
	}{
		{"NoSegments", `no "segments"`, func(r *Result) { r.Segments = nil }},
		{"OutOfOrder", "Segment 2 starts before segment 1 ends", func(r *Result) { r.Segments[0], r.Segments[1] = r.Segments[1], r.Segments[0] }},
		{"Overlap", "Segment 2 starts before segment 1 ends", func(r *Result) { r.Segments[1].Start = 2.0; r.Segments[1].Words = nil }},
		{"EndBeforeStart", "Segment 1 ends (0.100 s) before it starts", func(r *Result) { r.Segments[0].End = 0.1 }},
		{"Negative", "Segment 1 has a negative time", func(r *Result) { r.Segments[0].Start = -1 }},
		{"NaN", "not a number", func(r *Result) { r.Segments[0].Start = math.NaN() }},
		{"PastAudio", "after the audio does (10.000 s)", func(r *Result) { r.Segments[1].End = 11 }},
		{"WordOutside", "Word 1 of segment 2 lies outside", func(r *Result) { r.Segments[1].Words[0].Start = 2.9 }},
		{"WordsOutOfOrder", "Word 2 of segment 2 starts before", func(r *Result) { r.Segments[1].Words[1].Start = 3.0; r.Segments[1].Words[0].Start = 3.1 }},
		{"WordTooLong", "Word 1 of segment 1 is longer", func(r *Result) { r.Segments[0].Words[0].Word = strings.Repeat("a", MaxWordText+1) }},
		{"TextTooLong", "Segment 1 is longer than", func(r *Result) { r.Segments[0].Text = strings.Repeat("a", MaxSegmentText+1) }},
		{"TooManyWords", "Segment 1 has more than", func(r *Result) { r.Segments[0].Text = strings.Repeat("a ", MaxSegmentWords+1) }},
		{"SpeakerTooLong", "speaker of segment 2", func(r *Result) { r.Segments[1].Speaker = strings.Repeat("b", MaxSpeaker+1) }},
		{"TooManySegments", "at most", func(r *Result) { r.Segments = make([]Segment, MaxSegments+1) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sent := clone(fox())
			c.edit(sent)
			_, err := Revise(fox(), sent)
			if ErrorCode(err) != CodeInvalid || !strings.Contains(ErrorMessage(err), c.want) {
				t.Fatalf("got %v (%s), want an invalid error saying %q", err, ErrorCode(err), c.want)
			}
		})
	}
	if _, err := ReviseSegment(fox(), 3, "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("editing segment 3 of 2: %v, want ErrNotFound", err)
	}
}

func TestPairInOrder(t *testing.T) {
	cases := []struct {
		a, b string
		want []int
	}{
		{"a b c", "a b c", []int{0, 1, 2}},
		{"a x c", "a b c", []int{0, -1, 2}},
		{"a c", "a b c", []int{0, 2}},
		{"a b x c", "a b c", []int{0, 1, -1, 2}},
		{"x b y", "a b c", []int{-1, 1, -1}},
		{"the cat the dog", "the dog", []int{0, -1, -1, 1}},
		{"q a r b s", "a b", []int{-1, 0, -1, 1, -1}},
		{"x y", "a b", []int{-1, -1}},
		{"b d", "a b c d e", []int{1, 3}},
	}
	for _, c := range cases {
		if got := pairInOrder(strings.Fields(c.a), strings.Fields(c.b)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("pairInOrder(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// BenchmarkReviseSegment edits one segment of an hour-long transcript with
// word timings, as the form without JavaScript does.
func BenchmarkReviseSegment(b *testing.B) {
	prev := &Result{Duration: 3600}
	for i := range 1200 {
		s := Segment{Start: float64(i) * 3, End: float64(i)*3 + 2.5, Text: "the quick brown fox jumps over the lazy dog"}
		for k, w := range strings.Fields(s.Text) {
			s.Words = append(s.Words, Word{Word: w, Start: s.Start + float64(k)*0.25, End: s.Start + float64(k)*0.25 + 0.2})
		}
		prev.Segments = append(prev.Segments, s)
	}
	for b.Loop() {
		if _, err := ReviseSegment(prev, 600, "the quick red fox jumps over a lazy dog"); err != nil {
			b.Fatal(err)
		}
	}
}
