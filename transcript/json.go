package transcript

import (
	"encoding/json"
	"io"
	"math"

	"scribe/job"
)

// WriteJSON writes the result in the API's shape (text, language, duration,
// segments with words), preceded by the job's Meta, with times rounded to
// the millisecond.
func WriteJSON(w io.Writer, r *job.Result, m Meta) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Meta
		job.Result
	}{m, rounded(r)})
}

// rounded is a copy of r with times to the millisecond and empty lists as
// [] rather than null, so scripts can range over them. It copies whole
// structs so that fields added to the result later are kept.
func rounded(r *job.Result) job.Result {
	out := *r
	out.Duration = millis(r.Duration)
	out.Segments = make([]job.Segment, len(r.Segments))
	for i, s := range r.Segments {
		s.Start, s.End = millis(s.Start), millis(s.End)
		words := make([]job.Word, len(s.Words))
		for j, w := range s.Words {
			w.Start, w.End, w.Confidence = millis(w.Start), millis(w.End), finite(w.Confidence)
			words[j] = w
		}
		s.Words = words
		out.Segments[i] = s
	}
	return out
}

// millis rounds seconds to three decimals.
func millis(x float64) float64 {
	x = finite(x)
	if math.Abs(x) > 1e15 {
		return x // no fraction left to round, and x*1000 could overflow
	}
	return math.Round(x*1000) / 1000
}

// finite is x, or 0 for NaN and infinities, which JSON cannot carry.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}
