// Package speech turns audio into timed words: it decodes any input with
// ffmpeg to 16 kHz mono PCM, splits it at silences, and runs a Recognizer
// (pocketsphinx offline, or an OpenAI-compatible HTTP endpoint).
package speech

import (
	"context"
	"io"
)

// SampleRate is the rate of the PCM every Recognizer reads: 16 kHz, mono,
// signed 16-bit little-endian.
const SampleRate = 16000

// Word is one recognised word; times are seconds from the start of the audio.
type Word struct {
	Word       string
	Start, End float64
	Confidence float64
}

// Segment is a stretch of speech between silences.
type Segment struct {
	Start, End float64
	Text       string
	Words      []Word
}

// Transcript is what a Recognizer produces for one input.
type Transcript struct {
	Text     string
	Duration float64 // exact, from the number of samples read
	// SpeechSeconds is how much of the audio was sound above its noise
	// floor (Splitter.SpeechSeconds). Seconds of it and no words means
	// the recogniser failed to hear speech that was there.
	SpeechSeconds float64
	Segments      []Segment
}

// Recognizer reads 16 kHz mono s16le PCM until EOF and returns its
// transcript. progress is called, from the calling goroutine, with the
// seconds of audio consumed so far; it may be nil. Implementations are safe
// for concurrent use.
type Recognizer interface {
	Recognize(ctx context.Context, pcm io.Reader, progress func(seconds float64)) (Transcript, error)
	Close() error
}
