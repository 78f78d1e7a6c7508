package speech

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// passagesPCM speaks the first n corpus passages back to back, gap
// seconds of silence after each, and returns the PCM and where each
// passage starts, in seconds.
func passagesPCM(t *testing.T, n int, gap float64) (pcm []byte, starts []float64) {
	t.Helper()
	for _, p := range corpus[:n] {
		starts = append(starts, float64(len(pcm)/2)/SampleRate)
		pcm = append(pcm, decodeToMemory(t, speak(t, p.Name, p.Voice, p.Text))...)
		pcm = append(pcm, make([]byte, 2*int(gap*SampleRate))...)
	}
	return pcm, starts
}

// peakBusy polls ps.Busy until stop is closed and returns the most
// decoders it saw at work at once.
func peakBusy(ps *Pocketsphinx, stop <-chan struct{}) <-chan int {
	out := make(chan int, 1)
	go func() {
		peak := 0
		ticker := time.NewTicker(time.Millisecond)
		defer ticker.Stop()
		for {
			peak = max(peak, ps.Busy())
			select {
			case <-stop:
				out <- peak
				return
			case <-ticker.C:
			}
		}
	}()
	return out
}

// TestPocketsphinxParallelStitching recognises one file of known passages
// with one decoder and with two: the two decoders work on the file at
// once, and the stitched transcript has the same words at the same times,
// each passage's first word where the passage starts.
func TestPocketsphinxParallelStitching(t *testing.T) {
	pcm, starts := passagesPCM(t, 3, 1)

	began := time.Now()
	one, err := NewPocketsphinx(PocketsphinxOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	want, err := one.Recognize(context.Background(), bytes.NewReader(pcm), nil)
	if err != nil {
		t.Fatal(err)
	}

	oneTook := time.Since(began)
	two := sharedPocketsphinx(t)
	began = time.Now()
	stop := make(chan struct{})
	peak := peakBusy(two, stop)
	var progress []float64
	got, err := two.Recognize(context.Background(), bytes.NewReader(pcm), func(s float64) { progress = append(progress, s) })
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%.1f s of audio: one decoder (created for it) %s, two %s", got.Duration, oneTook.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))

	t.Run("DecodersBusyAtOnce", func(t *testing.T) {
		if p := <-peak; p != 2 {
			t.Errorf("at most %d decoder(s) busy at once, want 2", p)
		}
	})
	t.Run("ProgressInOrder", func(t *testing.T) {
		for i := 1; i < len(progress); i++ {
			if progress[i] < progress[i-1] {
				t.Fatalf("progress went back: %v", progress)
			}
		}
		if len(progress) < 4 || progress[len(progress)-1] != got.Duration {
			t.Errorf("progress %v: want ≥ 4 values ending at %v", progress, got.Duration)
		}
	})
	t.Run("SameWordsAndTimes", func(t *testing.T) {
		checkWordTimes(t, got)
		if got.Duration != want.Duration {
			t.Errorf("Duration %v, want %v", got.Duration, want.Duration)
		}
		gw, ww := allWords(got), allWords(want)
		if len(gw) != len(ww) {
			t.Fatalf("two decoders: %d words %q\none decoder: %d words %q", len(gw), got.Text, len(ww), want.Text)
		}
		for i := range gw {
			if gw[i].Word != ww[i].Word || math.Abs(gw[i].Start-ww[i].Start) > 0.05 || math.Abs(gw[i].End-ww[i].End) > 0.05 {
				t.Errorf("word %d: %+v, one decoder gave %+v", i, gw[i], ww[i])
			}
		}
		var reference []string
		for _, p := range corpus[:len(starts)] {
			reference = append(reference, p.Text)
		}
		if wer := WER(strings.Join(reference, " "), got.Text); wer > 0.1 {
			t.Errorf("WER %.3f: %q", wer, got.Text)
		}
	})
	t.Run("PassagesWhereTheyStart", func(t *testing.T) {
		// The first word at or after each passage's start (less the
		// splitter's padding) begins within 0.3 s of it.
		words := allWords(got)
		for i, at := range starts {
			j := 0
			for j < len(words) && words[j].Start < at-0.2 {
				j++
			}
			if j == len(words) || math.Abs(words[j].Start-at) > 0.3 {
				t.Errorf("passage %d starts at %.2f s; first word after it %+v", i, at, words[min(j, len(words)-1)])
			}
		}
	})
}

// TestPocketsphinxParallelCancel cancels a recognition while both decoders
// work on it: Recognize returns the cancellation, and by then no decoder
// is working for it any more.
func TestPocketsphinxParallelCancel(t *testing.T) {
	ps := sharedPocketsphinx(t)
	pcm, _ := passagesPCM(t, 3, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sawBoth atomic.Bool
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if ps.Busy() == 2 {
				sawBoth.Store(true)
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	calls := 0
	_, err := ps.Recognize(ctx, bytes.NewReader(pcm), func(float64) { calls++ })
	close(stop)
	watch.Wait()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !sawBoth.Load() {
		t.Fatal("never saw both decoders busy")
	}
	if n := ps.Busy(); n != 0 {
		t.Errorf("%d decoder(s) still busy after Recognize returned", n)
	}
}

// TestPocketsphinxCloseWhileRecognizing closes the pool mid-file: the
// running call ends with ErrClosed and Close waits for it.
func TestPocketsphinxCloseWhileRecognizing(t *testing.T) {
	ps, err := NewPocketsphinx(PocketsphinxOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	pcm, _ := passagesPCM(t, 3, 1)
	closed := make(chan struct{})
	var once sync.Once
	_, err = ps.Recognize(context.Background(), bytes.NewReader(pcm), func(float64) {
		once.Do(func() {
			go func() { ps.Close(); close(closed) }()
		})
	})
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Recognize = %v, want ErrClosed", err)
	}
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return")
	}
}

func allWords(tr Transcript) []Word {
	var out []Word
	for _, s := range tr.Segments {
		out = append(out, s.Words...)
	}
	return out
}
