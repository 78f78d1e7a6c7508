package enginebench

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"scribe/engine/speech"
)

// TestGeneratedFiles checks the audio Measure recognises: the file is as
// long as asked and its reference holds whole rounds of the corpus; the
// long file is as long as asked.
func TestGeneratedFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	passages, err := speakCorpus(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var corpusWords int
	for _, p := range passages {
		corpusWords += len(speech.NormalizeWords(p.Text))
	}

	t.Run("File", func(t *testing.T) {
		path, reference, err := makeFile(ctx, dir, passages, 3*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		got, err := soxDuration(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-180) > 0.05 {
			t.Errorf("file lasts %.3f s, want 180", got)
		}
		if n := len(speech.NormalizeWords(reference)); n == 0 || n%corpusWords != 0 {
			t.Errorf("reference has %d words, want whole rounds of %d", n, corpusWords)
		}
		if !strings.HasPrefix(reference, passages[0].Text) {
			t.Errorf("reference starts %.40q, want the first passage", reference)
		}
	})
	t.Run("Sparse", func(t *testing.T) {
		path, err := makeSparse(ctx, dir, passages, 10*time.Minute, 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		got, err := soxDuration(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-600) > 0.05 {
			t.Errorf("long file lasts %.3f s, want 600", got)
		}
	})
}
