package speech

import (
	"strings"
)

// framesPerSecond is pocketsphinx's frame rate.
const framesPerSecond = 100

// cleanWord returns the word without pocketsphinx's alternate-pronunciation
// suffix ("read(2)" → "read"), or "" for fillers and silences ("<s>",
// "<sil>", "[NOISE]", "++NOISE++").
func cleanWord(w string) string {
	if i := strings.IndexByte(w, '('); i > 0 && strings.HasSuffix(w, ")") {
		w = w[:i]
	}
	switch {
	case w == "",
		strings.HasPrefix(w, "<"),
		strings.HasPrefix(w, "["),
		strings.HasPrefix(w, "++"):
		return ""
	}
	return w
}

// segmentFromWords turns one utterance's raw words into a Segment with
// times in seconds from the start of the input. ok is false when nothing
// but fillers was heard.
func segmentFromWords(raw []rawWord, offsetSamples int64, durationSec float64) (seg Segment, ok bool) {
	offset := float64(offsetSamples) / SampleRate
	for _, r := range raw {
		w := cleanWord(r.word)
		if w == "" {
			continue
		}
		start := offset + float64(r.startFrame)/framesPerSecond
		// ps_seg_frames gives the last frame inclusive.
		end := offset + float64(r.endFrame+1)/framesPerSecond
		start, end = min(start, durationSec), min(end, durationSec)
		if n := len(seg.Words); n > 0 {
			start = max(start, seg.Words[n-1].End)
			end = max(end, start)
		}
		seg.Words = append(seg.Words, Word{Word: w, Start: start, End: end, Confidence: r.prob})
	}
	if len(seg.Words) == 0 {
		return Segment{}, false
	}
	seg.Start = seg.Words[0].Start
	seg.End = seg.Words[len(seg.Words)-1].End
	seg.Text = joinWords(seg.Words)
	return seg, true
}

func joinWords(words []Word) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w.Word)
	}
	return b.String()
}

// transcriptText joins segment texts with spaces.
func transcriptText(segs []Segment) string {
	parts := make([]string, 0, len(segs))
	for _, s := range segs {
		if s.Text != "" {
			parts = append(parts, s.Text)
		}
	}
	return strings.Join(parts, " ")
}
