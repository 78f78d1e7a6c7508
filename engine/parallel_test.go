package engine

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/engine/speech"
)

// TestOneFileOnEveryDecoder runs one file of three passages, a second of
// silence between them, on an engine with two workers: both decoders
// recognise it at once, progress events still only go forward, and
// deleting the job stops every decoder working on it.
func TestOneFileOnEveryDecoder(t *testing.T) {
	e := startEngine(t, func(c *Config) {
		c.Recognizer = sharedPocketsphinx(t)
		c.Workers = 2
	})
	ps := shared.rec
	dir := t.TempDir()
	gap, long := filepath.Join(dir, "gap.wav"), filepath.Join(dir, "long.wav")
	for _, args := range [][]string{
		{"-n", "-r", "16000", "-c", "1", "-b", "16", gap, "trim", "0", "1"},
		{clips.ten, gap, clips.ten, gap, clips.ten, long},
	} {
		if out, err := exec.Command("sox", args...).CombinedOutput(); err != nil {
			t.Fatalf("sox %v: %v: %s", args, err, out)
		}
	}

	t.Run("BothDecodersAndOrderedProgress", func(t *testing.T) {
		tr := e.mustSubmit(long, nil)
		peak := busiest(ps, func() bool { return e.transcription(tr.ID, false).Status == deepscript.StatusCompleted }, 60*time.Second)
		if peak != 2 {
			t.Errorf("at most %d decoder(s) busy at once, want 2", peak)
		}
		events := e.readEvents(tr.ID, "0", 10*time.Second, nil)
		checkSequence(t, events.Events, 1)
		progressed := 0
		for _, ev := range events.Events {
			if ev.Data.Status == deepscript.StatusProcessing && ev.Data.Progress > 0 {
				progressed++
			}
		}
		if progressed < 2 {
			t.Errorf("%d progress events, want several: %+v", progressed, events.Events)
		}
		r := e.transcription(tr.ID, true).Result
		if r == nil {
			t.Fatal("no result")
		}
		reference := strings.Repeat(clips.tenText+" ", 3)
		if got := wordRecall(reference, r.Text); got < 0.6 {
			t.Errorf("recognised %q: %.0f%% of the reference words, want >= 60%%", r.Text, got*100)
		}
		last := 0.0
		for _, s := range r.Segments {
			for _, w := range s.Words {
				if w.Start < last || w.End < w.Start || w.End > r.Duration {
					t.Errorf("word %+v out of order (previous ended %.2f) or past %.2f", w, last, r.Duration)
				}
				last = w.End
			}
		}
	})

	t.Run("DeleteStopsEveryDecoder", func(t *testing.T) {
		tr := e.mustSubmit(long, nil)
		if peak := busiest(ps, func() bool { return ps.Busy() == 2 }, 30*time.Second); peak != 2 {
			t.Fatalf("never saw both decoders busy (at most %d)", peak)
		}
		if status, body := e.request(http.MethodDelete, "/v1/transcriptions/"+tr.ID, nil, nil); status != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", status, body)
		}
		deleted := time.Now()
		// The utterances being decoded finish (a few seconds at most);
		// nothing of the job is decoded after them.
		deadline := deleted.Add(15 * time.Second)
		for ps.Busy() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d decoder(s) still busy 15 s after the delete", ps.Busy())
			}
			time.Sleep(time.Millisecond)
		}
		t.Logf("decoders idle %s after the delete", time.Since(deleted).Round(time.Millisecond))
		if peak := busiest(ps, func() bool { return false }, 500*time.Millisecond); peak != 0 {
			t.Errorf("%d decoder(s) busy again after the job was deleted", peak)
		}
		if status, _ := e.request(http.MethodGet, "/v1/transcriptions/"+tr.ID, nil, nil); status != http.StatusNotFound {
			t.Errorf("GET after delete: %d, want 404", status)
		}
	})
}

// busiest polls ps.Busy every millisecond until done reports true or the
// time is up, and returns the most decoders it saw busy at once.
func busiest(ps *speech.Pocketsphinx, done func() bool, within time.Duration) int {
	peak := 0
	deadline := time.Now().Add(within)
	for n := 0; time.Now().Before(deadline); n++ {
		peak = max(peak, ps.Busy())
		// done may be an HTTP request: ask it every 50 ms only.
		if n%50 == 0 && done() {
			break
		}
		time.Sleep(time.Millisecond)
	}
	return peak
}
