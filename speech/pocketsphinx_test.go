package speech

import (
	"testing"
)

func TestPocketsphinxCorpus(t *testing.T) {
	ps := sharedPocketsphinx(t)
	var errs, words int
	for _, p := range corpus {
		path := speak(t, p.name, p.voice, p.text)
		tr := recognizeFile(t, ps, path)
		e, n := WordErrors(p.text, tr.Text)
		errs += e
		words += n
		t.Logf("%-8s %-5s WER %.3f (%d/%d) dur %.2fs: %s", p.name, p.voice, float64(e)/float64(n), e, n, tr.Duration, tr.Text)
		checkWordTimes(t, tr)
	}
	wer := float64(errs) / float64(words)
	t.Logf("overall WER %.3f (%d/%d)", wer, errs, words)
}
