package deepscript

import (
	"cmp"
	"math"
	"slices"

	"scribe/job"
)

// maxSeconds is the longest time a result may name: a day. Anything past it
// (1e308, say) is a broken or hostile upstream, not a recording.
const maxSeconds = 24 * 60 * 60

// sanitize makes a result from the upstream safe to store and render:
// times finite, within the audio and ordered; segments in order and not
// overlapping; words inside their segment; text on one line without
// control characters. It repairs rather than refuses, so a result with one
// bad time is not lost.
func sanitize(r *job.Result) {
	r.Duration = clampTime(r.Duration, maxSeconds)
	limit := float64(maxSeconds)
	if r.Duration > 0 {
		limit = r.Duration
	}
	slices.SortStableFunc(r.Segments, func(a, b job.Segment) int { return cmp.Compare(clampTime(a.Start, limit), clampTime(b.Start, limit)) })
	prevEnd := 0.0
	for i := range r.Segments {
		s := &r.Segments[i]
		s.Start = max(clampTime(s.Start, limit), prevEnd)
		s.End = max(clampTime(s.End, limit), s.Start)
		s.Text = job.OneLine(s.Text)
		s.Speaker = job.OneLine(s.Speaker)
		wordEnd := s.Start
		for k := range s.Words {
			w := &s.Words[k]
			w.Word = job.OneLine(w.Word)
			w.Start = min(max(clampTime(w.Start, limit), wordEnd), s.End)
			w.End = min(max(clampTime(w.End, limit), w.Start), s.End)
			w.Confidence = min(max(clampTime(w.Confidence, 1), 0), 1)
			wordEnd = w.Start
		}
		prevEnd = s.End
	}
	r.Text = job.OneLine(r.Text)
}

// clampTime maps a time to [0, limit]; NaN and negative times become 0.
func clampTime(t, limit float64) float64 {
	if math.IsNaN(t) || t < 0 {
		return 0
	}
	return min(t, limit)
}
