package speech

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// frameSamples is the splitter's analysis frame: 10 ms at SampleRate.
const frameSamples = SampleRate / 100

// minVoicedFrames is the least sound (50 ms) an utterance needs; shorter
// blips are clicks, not words.
const minVoicedFrames = 5

// SplitOptions tunes the Splitter. Zero values take the defaults.
type SplitOptions struct {
	// MinSilence is how long a quiet stretch must last to end an
	// utterance (default 300 ms).
	MinSilence time.Duration
	// MaxUtterance forces a cut, at the quietest point of the utterance's
	// second half, when no silence came in time (default 25 s).
	MaxUtterance time.Duration
	// Padding is the silence kept around each utterance (default 150 ms,
	// at most MinSilence/2); recognisers want a little context.
	Padding time.Duration
	// ThresholdDB is how far above the noise floor a frame must be to
	// count as sound (default 12 dB).
	ThresholdDB float64
}

func (o SplitOptions) withDefaults() SplitOptions {
	if o.MinSilence <= 0 {
		o.MinSilence = 300 * time.Millisecond
	}
	if o.MaxUtterance <= 0 {
		o.MaxUtterance = 25 * time.Second
	}
	if o.Padding <= 0 {
		o.Padding = 150 * time.Millisecond
	}
	o.Padding = min(o.Padding, o.MinSilence/2)
	if o.ThresholdDB <= 0 {
		o.ThresholdDB = 12
	}
	return o
}

// Utterance is a stretch of audio between silences.
type Utterance struct {
	Offset  int64   // sample offset of Samples[0] from the start of the input
	Samples []int16 // 16 kHz mono PCM
}

// Start is the utterance's start in seconds.
func (u Utterance) Start() float64 { return float64(u.Offset) / SampleRate }

// End is the utterance's end in seconds.
func (u Utterance) End() float64 { return float64(u.Offset+int64(len(u.Samples))) / SampleRate }

// Splitter reads 16 kHz mono s16le PCM incrementally and yields utterances
// cut at silences. It holds at most one utterance (MaxUtterance) of audio,
// so memory stays flat however long the input is.
//
// A frame is sound when its energy is ThresholdDB above the noise floor,
// the minimum frame energy of the last 3 s (and above -70 dBFS, so that
// dither in digital silence is not speech). A steady sound that never dips
// (a hum, a held tone) therefore becomes the floor; speech always dips
// between syllables.
type Splitter struct {
	r    *bufio.Reader
	opts SplitOptions

	minSilenceFrames int
	maxFrames        int
	padFrames        int

	floor    floorTracker
	total    int64 // samples read so far
	speech   int   // sound frames in the utterances emitted so far
	frameBuf []byte
	eof      bool

	// The utterance being built: frames since cur.Offset and their energy.
	cur        Utterance
	energies   []float64
	voiced     int // sound frames in cur
	silentTail int // consecutive quiet frames at the end of cur
	pending    []Utterance
}

// NewSplitter returns a Splitter reading PCM from r.
func NewSplitter(r io.Reader, opts SplitOptions) *Splitter {
	opts = opts.withDefaults()
	s := &Splitter{
		r:                bufio.NewReaderSize(r, 64<<10),
		opts:             opts,
		minSilenceFrames: int(opts.MinSilence / (10 * time.Millisecond)),
		maxFrames:        int(opts.MaxUtterance / (10 * time.Millisecond)),
		padFrames:        int(opts.Padding / (10 * time.Millisecond)),
		floor:            newFloorTracker(300), // 3 s window
		frameBuf:         make([]byte, frameSamples*2),
	}
	return s
}

// SamplesRead is the number of samples consumed so far; after Next returns
// io.EOF it is the exact length of the input.
func (s *Splitter) SamplesRead() int64 { return s.total }

// SpeechSeconds is how much of the utterances found so far was sound
// above the noise floor: speech energy, whether or not words come of it.
func (s *Splitter) SpeechSeconds() float64 { return float64(s.speech) / 100 }

// Next returns the next utterance, or io.EOF after the last one. The
// returned Samples are not reused by later calls.
func (s *Splitter) Next() (Utterance, error) {
	for len(s.pending) == 0 {
		if s.eof {
			return Utterance{}, io.EOF
		}
		if err := s.readFrame(); err != nil {
			return Utterance{}, err
		}
	}
	u := s.pending[0]
	s.pending = s.pending[1:]
	return u, nil
}

// readFrame consumes one 10 ms frame (shorter at the end of input) and
// moves the state machine.
func (s *Splitter) readFrame() error {
	n, err := io.ReadFull(s.r, s.frameBuf)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		s.eof = true
	case err != nil:
		var de *DecodeError
		if errors.As(err, &de) {
			return err // already says what went wrong
		}
		return fmt.Errorf("speech: reading audio: %w", err)
	}
	n -= n % 2 // a trailing odd byte is not a sample
	if n > 0 {
		frame := make([]int16, n/2)
		for i := range frame {
			frame[i] = int16(binary.LittleEndian.Uint16(s.frameBuf[2*i:]))
		}
		s.total += int64(len(frame))
		s.addFrame(frame)
	}
	if s.eof {
		s.finish()
	}
	return nil
}

func (s *Splitter) addFrame(frame []int16) {
	e := frameEnergyDB(frame)
	floor := s.floor.push(e)
	sound := e > max(floor+s.opts.ThresholdDB, -70)

	if s.voiced == 0 {
		// Between utterances: keep only the padding before the next sound.
		s.appendFrame(frame, e)
		if !sound {
			if excess := len(s.energies) - s.padFrames; excess > 0 {
				s.dropFrames(excess)
			}
			return
		}
		s.voiced, s.silentTail = 1, 0
		return
	}

	s.appendFrame(frame, e)
	if sound {
		s.voiced++
		s.silentTail = 0
	} else {
		s.silentTail++
	}
	switch {
	case s.silentTail >= s.minSilenceFrames:
		s.emit(len(s.energies) - s.silentTail + s.padFrames)
	case len(s.energies) >= s.maxFrames:
		s.emit(s.quietestFrame())
	}
}

// appendFrame adds frame to the current utterance.
func (s *Splitter) appendFrame(frame []int16, e float64) {
	if len(s.energies) == 0 {
		s.cur.Offset = s.total - int64(len(frame))
	}
	s.cur.Samples = append(s.cur.Samples, frame...)
	s.energies = append(s.energies, e)
}

// dropFrames removes the first n frames of the current utterance.
func (s *Splitter) dropFrames(n int) {
	cut := min(n*frameSamples, len(s.cur.Samples))
	s.cur.Offset += int64(cut)
	s.cur.Samples = append(s.cur.Samples[:0], s.cur.Samples[cut:]...)
	s.energies = append(s.energies[:0], s.energies[n:]...)
}

// emit queues the first n frames as an utterance and keeps the rest as the
// start of the next one.
func (s *Splitter) emit(n int) {
	n = min(n, len(s.energies))
	cut := min(n*frameSamples, len(s.cur.Samples))
	threshold := max(s.floor.min()+s.opts.ThresholdDB, -70)
	if s.voiced >= minVoicedFrames {
		out := Utterance{Offset: s.cur.Offset, Samples: append([]int16(nil), s.cur.Samples[:cut]...)}
		s.pending = append(s.pending, out)
		for _, e := range s.energies[:n] {
			if e > threshold {
				s.speech++
			}
		}
	}
	s.cur.Offset += int64(cut)
	s.cur.Samples = append(s.cur.Samples[:0], s.cur.Samples[cut:]...)
	rest := s.energies[n:]
	s.energies = append(s.energies[:0], rest...)

	// Re-count what remains: after a silence cut it is quiet padding,
	// after a forced cut it may hold speech.
	s.voiced, s.silentTail = 0, 0
	for _, e := range s.energies {
		if e > threshold {
			s.voiced++
			s.silentTail = 0
		} else {
			s.silentTail++
		}
	}
	if s.voiced == 0 {
		if excess := len(s.energies) - s.padFrames; excess > 0 {
			s.dropFrames(excess)
		}
	}
}

// quietestFrame picks where to force a cut: the frame in the second half
// of the current utterance whose 50 ms neighbourhood is quietest.
func (s *Splitter) quietestFrame() int {
	const half = 2 // frames each side
	best, bestE := len(s.energies), math.Inf(1)
	for i := len(s.energies) / 2; i < len(s.energies)-half; i++ {
		var sum float64
		for j := i - half; j <= i+half; j++ {
			sum += s.energies[j]
		}
		if sum < bestE {
			best, bestE = i, sum
		}
	}
	return best
}

// finish flushes the last utterance at end of input, minus trailing
// silence beyond the padding.
func (s *Splitter) finish() {
	if s.voiced == 0 {
		return
	}
	s.emit(len(s.energies) - s.silentTail + s.padFrames)
	s.cur = Utterance{}
	s.energies = nil
}

// frameEnergyDB is the frame's mean power in dB relative to full scale,
// floored at -100 for digital silence.
func frameEnergyDB(frame []int16) float64 {
	var sum float64
	for _, v := range frame {
		f := float64(v)
		sum += f * f
	}
	p := sum / float64(len(frame)) / (32768 * 32768)
	if p < 1e-10 {
		return -100
	}
	return 10 * math.Log10(p)
}

// floorTracker is the minimum of the last n frame energies: a noise floor
// that follows a change of recording level within the window.
type floorTracker struct {
	ring []float64
	next int
}

func newFloorTracker(n int) floorTracker { return floorTracker{ring: make([]float64, 0, n)} }

// push adds e and returns the current floor.
func (f *floorTracker) push(e float64) float64 {
	if len(f.ring) < cap(f.ring) {
		f.ring = append(f.ring, e)
	} else {
		f.ring[f.next] = e
		f.next = (f.next + 1) % len(f.ring)
	}
	return f.min()
}

func (f *floorTracker) min() float64 {
	m := math.Inf(1)
	for _, v := range f.ring {
		m = min(m, v)
	}
	if math.IsInf(m, 1) {
		return -100
	}
	// Until the window has seen half a second, assume a floor no louder
	// than -50 dBFS, so that speech at the very start of the input is not
	// taken for the floor. (Louder noise at the start is then taken for
	// sound for that half second, which costs little.)
	if len(f.ring) < 50 {
		m = min(m, -50)
	}
	return m
}
