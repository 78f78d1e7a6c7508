package transcript

import (
	"encoding/json"
	"io"
	"math"

	"scribe/deepscript"
)

// WriteJSON writes the result in the API's shape (text, language, duration,
// segments with words), preceded by the job's Meta, with times rounded to
// the millisecond.
func WriteJSON(w io.Writer, r *deepscript.Result, m Meta) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Meta
		deepscript.Result
	}{m, rounded(r)})
}

// rounded is a copy of r with times to the millisecond and empty lists as
// [] rather than null, so scripts can range over them.
func rounded(r *deepscript.Result) deepscript.Result {
	out := deepscript.Result{Text: r.Text, Language: r.Language, Duration: millis(r.Duration),
		Segments: make([]deepscript.Segment, 0, len(r.Segments))}
	for _, s := range r.Segments {
		seg := deepscript.Segment{Start: millis(s.Start), End: millis(s.End), Text: s.Text,
			Words: make([]deepscript.Word, 0, len(s.Words))}
		for _, w := range s.Words {
			seg.Words = append(seg.Words, deepscript.Word{Word: w.Word, Start: millis(w.Start), End: millis(w.End),
				Confidence: finite(w.Confidence)})
		}
		out.Segments = append(out.Segments, seg)
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
