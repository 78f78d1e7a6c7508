package speech

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// pcmBuilder makes synthetic 16 kHz PCM: tones and gaps of known length.
type pcmBuilder struct {
	samples []int16
	rng     *rand.Rand
	noise   float64 // amplitude of background noise added everywhere
}

func newPCM(noise float64) *pcmBuilder {
	return &pcmBuilder{rng: rand.New(rand.NewPCG(1, 2)), noise: noise}
}

func (b *pcmBuilder) tone(seconds, freq, amp float64) *pcmBuilder {
	n := int(seconds * SampleRate)
	for i := range n {
		v := amp*math.Sin(2*math.Pi*freq*float64(i)/SampleRate) + b.noise*(b.rng.Float64()*2-1)
		b.samples = append(b.samples, int16(v))
	}
	return b
}

// syllables is a tone whose loudness swings 20 dB four times a second, as
// speech does; a steady tone would be taken for the noise floor.
func (b *pcmBuilder) syllables(seconds, freq, amp float64) *pcmBuilder {
	n := int(seconds * SampleRate)
	for i := range n {
		t := float64(i) / SampleRate
		env := 0.55 + 0.45*math.Sin(2*math.Pi*4*t)
		v := amp*env*math.Sin(2*math.Pi*freq*t) + b.noise*(b.rng.Float64()*2-1)
		b.samples = append(b.samples, int16(v))
	}
	return b
}

func (b *pcmBuilder) gap(seconds float64) *pcmBuilder { return b.tone(seconds, 0, 0) }

func (b *pcmBuilder) bytes() []byte {
	buf := make([]byte, 2*len(b.samples))
	for i, s := range b.samples {
		binary.LittleEndian.PutUint16(buf[2*i:], uint16(s))
	}
	return buf
}

func splitAll(t *testing.T, r io.Reader, opts SplitOptions) ([]Utterance, int64) {
	t.Helper()
	s := NewSplitter(r, opts)
	var out []Utterance
	for {
		u, err := s.Next()
		if errors.Is(err, io.EOF) {
			return out, s.SamplesRead()
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, u)
	}
}

func TestSplitter(t *testing.T) {
	near := func(t *testing.T, what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 0.16 { // padding is 0.15 s
			t.Errorf("%s = %.3f s, want %.3f ± 0.16", what, got, want)
		}
	}

	for _, tc := range []struct {
		name  string
		noise float64
	}{{"DigitalSilence", 0}, {"NoisyFloor", 300}} {
		t.Run(tc.name, func(t *testing.T) {
			// speech-like bursts at 1.0-2.0, 2.5-4.0 (0.5 s gap) and 4.2-5.0
			// (0.2 s gap: too short to cut), then 1 s of trailing silence.
			b := newPCM(tc.noise).gap(1).syllables(1, 440, 8000).gap(0.5).syllables(1.5, 300, 6000).gap(0.2).syllables(0.8, 500, 7000).gap(1)
			utts, total := splitAll(t, bytes.NewReader(b.bytes()), SplitOptions{})
			if got, want := total, int64(len(b.samples)); got != want {
				t.Errorf("SamplesRead = %d, want %d", got, want)
			}
			if got, want := len(utts), 2; got != want {
				t.Fatalf("got %d utterances, want %d: %v", got, want, spans(utts))
			}
			near(t, "first start", utts[0].Start(), 1.0)
			near(t, "first end", utts[0].End(), 2.0)
			near(t, "second start", utts[1].Start(), 2.5)
			near(t, "second end", utts[1].End(), 5.0)
			for i, u := range utts {
				if i > 0 && u.Offset < utts[i-1].Offset+int64(len(utts[i-1].Samples)) {
					t.Errorf("utterances overlap: %v", spans(utts))
				}
				want := b.samples[u.Offset : u.Offset+int64(len(u.Samples))]
				if !equalSamples(u.Samples, want) {
					t.Errorf("utterance %d samples differ from the input at its offset", i)
				}
			}
		})
	}

	t.Run("ForcedCutAtQuietestPoint", func(t *testing.T) {
		// 12 s of sound with a 0.1 s dip at 9 s (too short for a silence)
		// and MaxUtterance 10 s: the cut must land in the dip.
		b := newPCM(0).syllables(9, 440, 8000).tone(0.1, 440, 200).syllables(3, 440, 8000)
		utts, _ := splitAll(t, bytes.NewReader(b.bytes()), SplitOptions{MaxUtterance: 10 * time.Second})
		if got, want := len(utts), 2; got != want {
			t.Fatalf("got %d utterances, want %d: %v", got, want, spans(utts))
		}
		if got := utts[0].End(); got < 9 || got > 9.1 {
			t.Errorf("forced cut at %.3f s, want inside the dip 9.0-9.1", got)
		}
		if utts[1].Offset != utts[0].Offset+int64(len(utts[0].Samples)) {
			t.Errorf("forced cut lost audio: %v", spans(utts))
		}
	})

	t.Run("Empty", func(t *testing.T) {
		utts, total := splitAll(t, bytes.NewReader(nil), SplitOptions{})
		if len(utts) != 0 || total != 0 {
			t.Errorf("got %d utterances, %d samples; want none", len(utts), total)
		}
	})

	t.Run("SilenceOnly", func(t *testing.T) {
		utts, total := splitAll(t, bytes.NewReader(newPCM(100).gap(3).bytes()), SplitOptions{})
		if len(utts) != 0 || total != 3*SampleRate {
			t.Errorf("got %d utterances, %d samples; want none, %d", len(utts), total, 3*SampleRate)
		}
	})

	t.Run("OddByteAndReadError", func(t *testing.T) {
		data := append(newPCM(0).syllables(0.5, 440, 8000).bytes(), 7)
		utts, total := splitAll(t, bytes.NewReader(data), SplitOptions{})
		if len(utts) != 1 || total != SampleRate/2 {
			t.Errorf("got %d utterances, %d samples; want 1, %d", len(utts), total, SampleRate/2)
		}
		boom := errors.New("boom")
		s := NewSplitter(io.MultiReader(bytes.NewReader(data[:1000]), errReader{boom}), SplitOptions{})
		if _, err := s.Next(); !errors.Is(err, boom) {
			t.Errorf("Next = %v, want wrapping %v", err, boom)
		}
	})
}

// TestSplitterMemoryFlat feeds half an hour of generated audio through
// the splitter and checks the heap after 30 min is no bigger than after
// 10 min: it must never hold the input.
func TestSplitterMemoryFlat(t *testing.T) {
	const minutes = 30
	src := &syllableSource{remaining: minutes * 60 * SampleRate}
	s := NewSplitter(src, SplitOptions{})
	var n int
	var heapAt10 uint64
	for {
		_, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if heapAt10 == 0 && s.SamplesRead() >= 10*60*SampleRate {
			heapAt10 = heapInUse()
		}
	}
	heapAtEnd := heapInUse()
	t.Logf("heap in use after 10 min %d KiB, after %d min %d KiB", heapAt10>>10, minutes, heapAtEnd>>10)
	if got, want := s.SamplesRead(), int64(minutes*60*SampleRate); got != want {
		t.Errorf("SamplesRead = %d, want %d", got, want)
	}
	// 4 s of sound every 5 s: one utterance each.
	if got, want := n, minutes*12; got != want {
		t.Errorf("got %d utterances, want %d", got, want)
	}
	if heapAtEnd > heapAt10+4<<20 {
		t.Errorf("heap grew from %d KiB to %d KiB", heapAt10>>10, heapAtEnd>>10)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// syllableSource generates 4 s of speech-like tone then 1 s of silence,
// repeated, without holding any of it.
type syllableSource struct {
	remaining int64
	pos       int64
}

func (s *syllableSource) Read(p []byte) (int, error) {
	if s.remaining <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)/2), s.remaining)
	for i := range n {
		var v int16
		if (s.pos/SampleRate)%5 != 4 {
			t := float64(s.pos) / SampleRate
			v = int16(8000 * (0.55 + 0.45*math.Sin(2*math.Pi*4*t)) * math.Sin(2*math.Pi*440*t))
		}
		binary.LittleEndian.PutUint16(p[2*i:], uint16(v))
		s.pos++
	}
	s.remaining -= n
	return int(2 * n), nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func equalSamples(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func spans(utts []Utterance) [][2]float64 {
	var out [][2]float64
	for _, u := range utts {
		out = append(out, [2]float64{u.Start(), u.End()})
	}
	return out
}

// BenchmarkSplitter cuts one minute of speech-like audio into utterances;
// MB/s is PCM bytes consumed (32 KB per second of audio).
func BenchmarkSplitter(b *testing.B) {
	const seconds = 60
	b.SetBytes(seconds * SampleRate * 2)
	for range b.N {
		sp := NewSplitter(&syllableSource{remaining: seconds * SampleRate}, SplitOptions{})
		n := 0
		for {
			_, err := sp.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n == 0 {
			b.Fatal("no utterances")
		}
	}
}

// TestSplitterSpeechSeconds checks the splitter counts the sound of its
// utterances (2.5 s of syllables, less their quietest troughs) and nothing
// of silence, a steady hum or a click.
func TestSplitterSpeechSeconds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pcm      *pcmBuilder
		min, max float64
	}{
		{"Syllables", newPCM(300).gap(1).syllables(1, 440, 8000).gap(0.5).syllables(1.5, 300, 6000).gap(1), 2.0, 2.5},
		{"Silence", newPCM(100).gap(3), 0, 0},
		{"Hum", newPCM(0).tone(5, 50, 3000), 0, 0},
		{"Click", newPCM(100).gap(1).tone(0.03, 1000, 20000).gap(1), 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSplitter(bytes.NewReader(tc.pcm.bytes()), SplitOptions{})
			for {
				if _, err := s.Next(); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					t.Fatal(err)
				}
			}
			if got := s.SpeechSeconds(); got < tc.min || got > tc.max {
				t.Errorf("SpeechSeconds = %.2f, want %.2f-%.2f", got, tc.min, tc.max)
			}
		})
	}
}
