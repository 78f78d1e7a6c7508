package speech

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// passage is one piece of the test corpus, spoken by a flite voice.
type passage struct {
	name, voice, text string
}

// corpus is short on purpose: cgo under -race is slow, and the whole
// package must test in under three minutes on two cores.
var corpus = []passage{
	{"meeting", "slt", "The meeting with John Smith is scheduled for Tuesday at three thirty in the afternoon. Please bring the quarterly report and the budget numbers for the new project."},
	{"phone", "kal16", "My phone number is five five five two one eight four nine seven zero. Call me after six o'clock if you have any questions about the order."},
	{"weather", "slt", "The weather today will be sunny with a high of seventy two degrees. Tomorrow we expect rain in the morning and clearing skies by the evening."},
	{"chicago", "kal16", "Mary and David moved to Chicago in nineteen ninety eight. They bought a small house near the lake and started a business selling coffee."},
	{"revenue", "rms", "The company reported revenue of four hundred million dollars, an increase of twelve percent over the previous year, driven by strong sales in Europe."},
	{"office", "rms", "Please remember to turn off the lights and lock the door when you leave the office tonight. The security guard will check the building at ten."},
	{"history", "slt", "Abraham Lincoln was born in Kentucky in eighteen oh nine. He became the sixteenth president of the United States and led the country through the civil war."},
}

var (
	testDir string

	sharedOnce sync.Once
	sharedPS   *Pocketsphinx
	sharedErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "speech-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testDir = dir
	code := m.Run()
	if sharedPS != nil {
		sharedPS.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// sharedPocketsphinx returns one recognizer with two decoders for all
// tests: decoders take ~1 s and ~90 MB each to create.
func sharedPocketsphinx(t testing.TB) *Pocketsphinx {
	t.Helper()
	sharedOnce.Do(func() {
		sharedPS, sharedErr = NewPocketsphinx(PocketsphinxOptions{Workers: 2})
	})
	if sharedErr != nil {
		t.Fatalf("NewPocketsphinx: %v", sharedErr)
	}
	return sharedPS
}

// run runs a command, failing the test with its output on error.
func run(t testing.TB, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
}

// speak writes text spoken by a flite voice to a wav in the test dir,
// once per name.
func speak(t testing.TB, name, voice, text string) string {
	t.Helper()
	path := filepath.Join(testDir, name+".wav")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".tmp.wav"
	run(t, "flite", "-voice", voice, "-t", text, "-o", tmp)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// recognizeFile decodes path with ffmpeg and recognizes it.
func recognizeFile(t testing.TB, r Recognizer, path string) Transcript {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pcm, err := Decode(ctx, path)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	defer pcm.Close()
	tr, err := r.Recognize(ctx, pcm, nil)
	if err != nil {
		t.Fatalf("Recognize %s: %v", filepath.Base(path), err)
	}
	if err := pcm.Close(); err != nil {
		t.Fatalf("Decode close: %v", err)
	}
	return tr
}

// checkWordTimes fails unless words are in order, non-overlapping and
// inside [0, duration].
func checkWordTimes(t testing.TB, tr Transcript) {
	t.Helper()
	last := 0.0
	for _, s := range tr.Segments {
		if s.Start < last-1e-9 || s.End < s.Start {
			t.Errorf("segment %q [%.2f, %.2f] out of order (previous ended %.2f)", s.Text, s.Start, s.End, last)
		}
		for _, w := range s.Words {
			if w.Start < last-1e-9 || w.End < w.Start || w.End > tr.Duration+1e-9 {
				t.Errorf("word %q [%.2f, %.2f] out of order or outside [0, %.2f] (previous ended %.2f)", w.Word, w.Start, w.End, tr.Duration, last)
			}
			if w.Confidence < 0 || w.Confidence > 1 {
				t.Errorf("word %q confidence %v outside 0..1", w.Word, w.Confidence)
			}
			last = w.End
		}
		last = max(last, s.End)
	}
}
