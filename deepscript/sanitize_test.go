package deepscript

import (
	"math"
	"strings"
	"testing"
)

// TestDomainSanitizesHostileResults feeds the mapping results a broken or
// hostile upstream could send; what comes out must be safe to render.
func TestDomainSanitizesHostileResults(t *testing.T) {
	hostile := &Result{Text: "one\n\ntwo", Duration: 10, Segments: []Segment{
		{Start: 5, End: 1e308, Text: "late\n\n2\n00:00:01,000 --> 00:00:02,000\ninjected", Speaker: "S1\n"},
		{Start: 2, End: 1, Text: "backwards\u202e", Words: []Word{{Word: "backwards", Start: -3, End: math.Inf(1), Confidence: 7}}},
		{Start: math.NaN(), End: 4, Text: "nan start"},
	}}
	got := hostile.Domain()
	prevEnd := 0.0
	for i, s := range got.Segments {
		if s.Start < prevEnd || s.End < s.Start || s.End > got.Duration {
			t.Errorf("segment %d spans %v–%v after one ending %v (duration %v)", i, s.Start, s.End, prevEnd, got.Duration)
		}
		if strings.ContainsAny(s.Text, "\n\r\u202e") || strings.ContainsAny(s.Speaker, "\n") {
			t.Errorf("segment %d text %q / speaker %q keeps a line break or bidi control", i, s.Text, s.Speaker)
		}
		for _, w := range s.Words {
			if w.Start < s.Start || w.End > s.End || w.End < w.Start || w.Confidence < 0 || w.Confidence > 1 {
				t.Errorf("segment %d word %+v is outside %v–%v or has a confidence outside 0–1", i, w, s.Start, s.End)
			}
		}
		prevEnd = s.End
	}
	if got, want := got.Segments[0].Text, "nan start"; got != want {
		t.Errorf("first segment %q, want the one starting at NaN (read as 0) first", got)
	}
	if got, want := got.Text, "one two"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if (*Result)(nil).Domain() != nil {
		t.Error("a nil result maps to a non-nil one")
	}
}
