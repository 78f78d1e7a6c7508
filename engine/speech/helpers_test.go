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

	speechcorpus "scribe/engine/speech/corpus"
)

// corpus is short on purpose: cgo under -race is slow, and the whole
// package must test in under three minutes on two cores.
var corpus = speechcorpus.Passages[:7]

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
