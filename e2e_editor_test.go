package main

// Browser steps of the job page's player and in-page editor, run by
// TestBrowser on the job it transcribed: word highlighting and seeking,
// the speed, skip and shortcut controls, saving an edit, a conflict with a
// save from elsewhere, restoring a revision, and a two-hour transcript.

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"scribe/job"
	"scribe/store"
)

// playerAndEditorSteps runs the steps on the job page of jobID, which
// belongs to ada@example.com and plays talk.
func playerAndEditorSteps(step func(string, func(*testing.T, *browserTab)), app *testApp, jobID, talk string) {
	txt := func(b *browserTab) string {
		return eval[string](b, fmt.Sprintf(`fetch('/jobs/%s/transcript.txt').then(r => r.text())`, jobID))
	}
	firstText := `document.querySelector('[data-testid="segment"] [data-testid="segment-text"]').textContent`

	step("WordHighlightFollowsPlayback", func(t *testing.T, b *browserTab) {
		b.open("/jobs/" + jobID)
		b.waitFor("the audio metadata", `document.querySelector('[data-testid="player"]').readyState >= 1`, 15*time.Second)
		if n := eval[int](b, `document.querySelectorAll('[data-testid="segment"] .word').length`); n < 5 {
			b.fail("%d word spans; the engine's words should be on the page", n)
		}
		eval[chromedp.Void](b, `(() => { const a = document.querySelector('[data-testid="player"]'); a.currentTime = 0; a.play(); })()`)
		current := `Number(document.querySelector('.word.is-current')?.dataset.start ?? -1)`
		b.waitFor("a highlighted word", current+` >= 0`, 10*time.Second)
		first := eval[float64](b, current)
		b.waitFor("the highlight to move on", fmt.Sprintf(`%s > %f`, current, first), 10*time.Second)
		got := eval[[]float64](b, `[`+current+`, document.querySelector('[data-testid="player"]').currentTime]`)
		if got[0] > got[1]+0.1 {
			b.fail("highlighted word starts at %v, after the player's time %v", got[0], got[1])
		}
		if n := eval[int](b, `document.querySelectorAll('.word.is-current').length`); n != 1 {
			b.fail("%d words highlighted, want 1", n)
		}
		eval[chromedp.Void](b, `document.querySelector('[data-testid="player"]').pause()`)
		t.Logf("highlight moved from the word at %.2f s to %.2f s (player at %.2f s)", first, got[0], got[1])
	})

	step("WordClickSeeks", func(t *testing.T, b *browserTab) {
		start := eval[float64](b, `Number(Array.from(document.querySelectorAll('.word')).at(-2).dataset.start)`)
		b.do("click a late word", chromedp.Click(chromedp.CSS(`[data-testid="segment"]:last-child .word:nth-last-child(2)`)))
		b.waitFor("the player at the word", fmt.Sprintf(`Math.abs(document.querySelector('[data-testid="player"]').currentTime - %f) < 0.5`, start), 5*time.Second)
		eval[chromedp.Void](b, `document.querySelector('[data-testid="player"]').pause()`)
	})

	step("SpeedAndSkip", func(t *testing.T, b *browserTab) {
		b.do("choose 1.5×", chromedp.SetValue(chromedp.CSS(`[data-testid="playback-rate"]`), "1.5"))
		eval[chromedp.Void](b, `document.querySelector('[data-testid="playback-rate"]').dispatchEvent(new Event('change'))`)
		if got := eval[float64](b, `document.querySelector('[data-testid="player"]').playbackRate`); got != 1.5 {
			b.fail("playback rate %v after choosing 1.5×", got)
		}
		eval[chromedp.Void](b, `document.querySelector('[data-testid="player"]').currentTime = 1`)
		b.do("skip forward", chromedp.Click(chromedp.CSS(`[data-testid="skip-forward"]`)))
		if got := eval[float64](b, `document.querySelector('[data-testid="player"]').currentTime`); math.Abs(got-6) > 0.3 {
			b.fail("after +5 s from 1 s the player is at %v", got)
		}
	})

	step("EditAndSave", func(t *testing.T, b *browserTab) {
		b.do("start editing", chromedp.Click(chromedp.CSS(`[data-testid="edit-transcript"]`)))
		b.waitFor("a text box per line", `document.querySelectorAll('[data-testid="segment-input"]').length === document.querySelectorAll('[data-testid="segment"]').length`, 10*time.Second)
		// The shortcuts work in a text box: Alt+J skips back 5 s and types nothing.
		eval[chromedp.Void](b, `(() => { document.querySelector('[data-testid="player"]').currentTime = 8; document.querySelector('[data-testid="segment-input"]').focus(); })()`)
		before := eval[string](b, `document.querySelector('[data-testid="segment-input"]').value`)
		b.do("press Alt+J", chromedp.KeyEvent("j", chromedp.KeyModifiers(chromedp.ModifierAlt)))
		if got := eval[float64](b, `document.querySelector('[data-testid="player"]').currentTime`); math.Abs(got-3) > 0.3 {
			b.fail("after Alt+J from 8 s the player is at %v", got)
		}
		if got := eval[string](b, `document.querySelector('[data-testid="segment-input"]').value`); got != before {
			b.fail("Alt+J changed the text to %q", got)
		}
		eval[chromedp.Void](b, `document.querySelector('[data-testid="segment-input"]').value = 'Edited opening line.'`)
		b.screenshot(t.Name() + "-editing")
		b.do("save", chromedp.Click(chromedp.CSS(`[data-testid="editor-save"]`)))
		b.waitFor("the saved text on the reloaded page", firstText+` === 'Edited opening line.'`, 15*time.Second)
		if got := txt(b); !strings.Contains(got, "Edited opening line.") {
			b.fail("TXT download lacks the edit: %q", got)
		}
		b.screenshot(t.Name())
	})

	step("SplitAndMerge", func(t *testing.T, b *browserTab) {
		type state struct {
			Segments int      `json:"segments"`
			Inputs   int      `json:"inputs"`
			Lines    []string `json:"lines"`
		}
		page := `({segments: document.querySelectorAll('[data-testid="segment"]').length,
			inputs: document.querySelectorAll('[data-testid="segment-input"]').length,
			lines: Array.from(document.querySelectorAll('[data-testid="segment-text"]'), s => s.textContent.trim())})`
		before := eval[state](b, page)
		n := before.Segments
		last := fmt.Sprintf(`document.querySelectorAll('[data-testid="segment"]')[%d]`, n-1)
		b.do("start editing", chromedp.Click(chromedp.CSS(`[data-testid="edit-transcript"]`)))
		b.waitFor("the text boxes", `document.querySelectorAll('[data-testid="segment-input"]').length > 0`, 10*time.Second)
		// Split the last line after its first word.
		text := eval[string](b, last+`.querySelector('[data-testid="segment-input"]').value`)
		head, tail, ok := strings.Cut(text, " ")
		if !ok {
			b.fail("the last line %q has one word; the split needs two", text)
		}
		seg := eval[job.Segment](b, fmt.Sprintf(`fetch('/jobs/%s/transcript.json').then(r => r.json()).then(t => t.segments.at(-1))`, jobID))
		eval[chromedp.Void](b, fmt.Sprintf(`(() => { const box = %s.querySelector('[data-testid="segment-input"]'); box.focus(); box.setSelectionRange(%d, %d); })()`, last, len(head), len(head)))
		split := last + `.querySelector('[data-testid="split-segment"]')`
		if got, want := eval[string](b, split+`.getAttribute('aria-label')`), fmt.Sprintf("Split line %d at the cursor", n); got != want {
			b.fail("split button label %q, want %q", got, want)
		}
		b.do("split", chromedp.Click(chromedp.CSS(`[data-testid="segment"]:last-child [data-testid="split-segment"]`)))
		focused := eval[[]string](b, `[document.activeElement.value, document.activeElement.getAttribute('aria-label')]`)
		if focused[0] != tail || !strings.HasPrefix(focused[1], fmt.Sprintf("Text of line %d at ", n+1)) {
			b.fail("after the split the focus is on %q, want the new line %d %q", focused, n+1, tail)
		}
		b.do("save", chromedp.Click(chromedp.CSS(`[data-testid="editor-save"]`)))
		saved := fmt.Sprintf(`!document.querySelector('[data-testid="segment-input"]') && document.querySelectorAll('[data-testid="segment"]').length === %d`, n+1)
		b.waitFor("one more line on the reloaded page", saved, 15*time.Second)
		b.screenshot(t.Name() + "-split")
		lines := strings.Split(strings.TrimSuffix(txt(b), "\n"), "\n")
		if len(lines) != n+1 || lines[n-1] != head || lines[n] != tail {
			b.fail("TXT after the split %q, want %d lines ending %q, %q", lines, n+1, head, tail)
		}
		// The cut is at the end of the first word, which keeps its timing.
		if got := eval[float64](b, `Number(`+last+`.nextElementSibling.dataset.start)`); len(seg.Words) == 0 || math.Abs(got-seg.Words[0].End) > 0.0015 {
			b.fail("the new line starts at %v, want the end of the first word of %+v", got, seg)
		}

		b.do("edit again", chromedp.Click(chromedp.CSS(`[data-testid="edit-transcript"]`)))
		b.waitFor("the text boxes", `document.querySelectorAll('[data-testid="segment-input"]').length > 0`, 10*time.Second)
		merge := last + `.querySelector('[data-testid="merge-segment"]')`
		if got, want := eval[string](b, merge+`.getAttribute('aria-label')`), fmt.Sprintf("Merge line %d with line %d", n, n+1); got != want {
			b.fail("merge button label %q, want %q", got, want)
		}
		if eval[bool](b, `!document.querySelector('[data-testid="segment"]:last-child [data-testid="merge-segment"]').hidden`) {
			b.fail("the last line offers to merge with a next one")
		}
		b.do("merge", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid="segment"]:nth-child(%d) [data-testid="merge-segment"]`, n))))
		focused = eval[[]string](b, `[document.activeElement.value, document.activeElement.getAttribute('aria-label')]`)
		if focused[0] != text || !strings.HasPrefix(focused[1], fmt.Sprintf("Text of line %d at ", n)) {
			b.fail("after the merge the focus is on %q, want line %d %q", focused, n, text)
		}
		b.do("save", chromedp.Click(chromedp.CSS(`[data-testid="editor-save"]`)))
		b.waitFor("one line fewer on the reloaded page", fmt.Sprintf(`!document.querySelector('[data-testid="segment-input"]') && document.querySelectorAll('[data-testid="segment"]').length === %d`, n), 15*time.Second)
		if after := eval[state](b, page); !reflect.DeepEqual(after, before) {
			b.fail("after split and merge the page shows %+v, want it as before, %+v", after, before)
		}
		if lines := strings.Split(strings.TrimSuffix(txt(b), "\n"), "\n"); len(lines) != n || lines[n-1] != text {
			b.fail("TXT after the merge %q, want %d lines ending %q", lines, n, text)
		}
	})

	step("ConflictShowsBothVersions", func(t *testing.T, b *browserTab) {
		b.do("start editing", chromedp.Click(chromedp.CSS(`[data-testid="edit-transcript"]`)))
		b.waitFor("the text boxes", `document.querySelectorAll('[data-testid="segment-input"]').length > 0`, 10*time.Second)
		eval[chromedp.Void](b, `document.querySelector('[data-testid="segment-input"]').value = 'Mine wins.'`)
		// Another tab saves over the revision this page loaded.
		status := eval[int](b, fmt.Sprintf(`(async () => {
			const r = await fetch('/jobs/%s/transcript.json', {cache: 'no-store'});
			const t = await r.json();
			t.segments[0].text = 'Theirs came first.';
			delete t.segments[0].words;
			const put = await fetch('/jobs/%s/transcript.json', {method: 'PUT', body: JSON.stringify(t),
				headers: {'Content-Type': 'application/json', 'If-Match': r.headers.get('ETag')}});
			return put.status;
		})()`, jobID, jobID))
		if status != 200 {
			b.fail("the other tab's save: status %d", status)
		}
		b.do("save", chromedp.Click(chromedp.CSS(`[data-testid="editor-save"]`)))
		b.waitFor("both versions", `document.querySelector('[data-testid="conflict-mine"]')?.textContent.includes('Mine wins.') && document.querySelector('[data-testid="conflict-theirs"]')?.textContent.includes('Theirs came first.')`, 10*time.Second)
		if got := eval[string](b, `document.querySelector('[data-testid="conflict"]').getAttribute('role')`); got != "alert" {
			b.fail("conflict notice role %q, want alert", got)
		}
		b.screenshot(t.Name())
		b.do("keep mine", chromedp.Click(chromedp.CSS(`[data-testid="keep-mine"]`)))
		b.waitFor("my text saved over theirs", firstText+` === 'Mine wins.'`, 15*time.Second)
		if got := txt(b); !strings.Contains(got, "Mine wins.") || strings.Contains(got, "Theirs came first.") {
			b.fail("TXT after keeping mine: %q", got)
		}
	})

	step("RenameSpeaker", func(t *testing.T, b *browserTab) {
		// Give the lines two speakers, as an upstream that tells them apart would.
		status := eval[int](b, fmt.Sprintf(`(async () => {
			const r = await fetch('/jobs/%s/transcript.json', {cache: 'no-store'});
			const t = await r.json();
			t.segments.forEach((s, i) => { s.speaker = i %% 2 ? 'B' : 'A'; });
			const put = await fetch('/jobs/%s/transcript.json', {method: 'PUT', body: JSON.stringify(t),
				headers: {'Content-Type': 'application/json', 'If-Match': r.headers.get('ETag')}});
			return put.status;
		})()`, jobID, jobID))
		if status != 200 {
			b.fail("set speakers: status %d", status)
		}
		b.open("/jobs/" + jobID)
		if got := eval[string](b, `document.querySelector('[data-testid="segment-speaker"]')?.textContent ?? ''`); got != "A" {
			b.fail("first speaker label %q, want A", got)
		}
		b.do("start editing", chromedp.Click(chromedp.CSS(`[data-testid="edit-transcript"]`)))
		b.waitFor("the text boxes", `document.querySelectorAll('[data-testid="segment-input"]').length > 0`, 10*time.Second)
		b.do("rename A", chromedp.SetValue(chromedp.CSS(`[data-testid="speaker-name"][data-speaker="A"]`), "Ada"))
		b.do("save", chromedp.Click(chromedp.CSS(`[data-testid="editor-save"]`)))
		b.waitFor("the renamed speaker", `document.querySelector('[data-testid="segment-speaker"]')?.textContent === 'Ada'`, 15*time.Second)
		speakers := eval[[]string](b, fmt.Sprintf(`fetch('/jobs/%s/transcript.json').then(r => r.json()).then(t => t.segments.map(s => s.speaker))`, jobID))
		for i, got := range speakers {
			if want := []string{"Ada", "B"}[i%2]; got != want {
				b.fail("segment %d speaker %q, want %q (all: %q)", i+1, got, want, speakers)
			}
		}
	})

	step("RestoreRevision", func(t *testing.T, b *browserTab) {
		b.open("/jobs/" + jobID + "/revisions")
		// The oldest revision, the engine's own, is listed last.
		b.follow("restore the first revision", chromedp.Click(chromedp.CSS(`[data-testid="revision"]:last-child [data-testid="restore"]`)))
		b.waitFor("the job page", `location.pathname === '/jobs/`+jobID+`' && document.querySelector('[data-testid="segment"]') !== null`, 15*time.Second)
		if got := eval[string](b, firstText); got == "Mine wins." {
			b.fail("the page still shows the edit after restoring the first revision")
		}
		if got := txt(b); strings.Contains(got, "Mine wins.") || strings.Contains(got, "Edited opening line.") {
			b.fail("TXT after restoring the first revision still has an edit: %q", got)
		}
	})

	step("TwoHourTranscript", func(t *testing.T, b *browserTab) {
		id := insertLongJob(t, app, "ada@example.com", talk)
		t0 := time.Now()
		b.open("/jobs/" + id)
		b.waitFor("the player controls", `!document.querySelector('[data-testid="player-controls"]').hidden`, 30*time.Second)
		loaded := time.Since(t0)
		if n := eval[int](b, `document.querySelectorAll('.word').length`); n < 20000 {
			b.fail("%d words on the page, want at least 20000", n)
		}
		// One highlight update, as a timeupdate event runs it.
		took := eval[float64](b, `(() => {
			const a = document.querySelector('[data-testid="player"]');
			a.currentTime = 4.2;
			const t0 = performance.now();
			a.dispatchEvent(new Event('timeupdate'));
			return performance.now() - t0;
		})()`)
		if got := eval[float64](b, `Number(document.querySelector('.word.is-current')?.dataset.start ?? -1)`); got < 0 || got > 4.25 {
			b.fail("highlighted word starts at %v for the player at 4.2 s", got)
		}
		nav := eval[float64](b, `performance.getEntriesByType('navigation')[0].domInteractive`)
		t.Logf("two-hour transcript: interactive %.0f ms after navigation (DOM interactive %.0f ms), one highlight update %.2f ms", float64(loaded.Milliseconds()), nav, took)
		if loaded > 15*time.Second || took > 50 {
			b.fail("too slow: loaded in %v, highlight update %.2f ms", loaded, took)
		}
		b.screenshot(t.Name())
		// Later steps count the jobs on the list.
		if status := eval[int](b, fmt.Sprintf(`fetch('/jobs/%s/delete', {method: 'POST'}).then(r => r.status)`, id)); status != 200 {
			b.fail("delete the two-hour job: status %d", status)
		}
	})
}

// insertLongJob adds a completed two-hour job for the user straight into
// the running app's store: 1,200 segments of 17 words, 20,400 words.
func insertLongJob(t *testing.T, app *testApp, email, audio string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, store.Options{Path: filepath.Join(app.DataDir, "scribe.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	// Its own copy of the audio, which deleting the job removes.
	data, err := os.ReadFile(audio)
	if err != nil {
		t.Fatal(err)
	}
	audio = filepath.Join(filepath.Dir(audio), "two-hours.mp3")
	if err := os.WriteFile(audio, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res := &job.Result{Language: "en", Duration: 7200}
	var texts []string
	for i := range 1200 {
		seg := job.Segment{Start: float64(i) * 6, End: float64(i)*6 + 5.5}
		var ws []string
		for k := range 17 {
			w := fmt.Sprintf("word%d", i*17+k)
			ws = append(ws, w)
			start := seg.Start + float64(k)*0.3
			seg.Words = append(seg.Words, job.Word{Word: w, Start: start, End: start + 0.25, Confidence: 0.9})
		}
		seg.Text = strings.Join(ws, " ")
		texts = append(texts, seg.Text)
		res.Segments = append(res.Segments, seg)
	}
	res.Text = strings.Join(texts, " ")
	// Not due for submission, so the app's submitter leaves it alone.
	s.Now = func() time.Time { return time.Now().UTC().Add(24 * time.Hour) }
	j, err := s.CreateJob(ctx, job.Job{ID: "longtranscript", UserID: u.ID, Filename: "two-hours.mp3", AudioPath: audio, Duration: 7200})
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return time.Now().UTC() }
	if _, err := s.MarkSubmitted(ctx, j.ID, "long-upstream"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ApplyUpdate(ctx, job.Update{UpstreamID: "long-upstream", Status: job.StatusCompleted, Progress: 1, Result: res, Via: job.ViaPoll}); err != nil {
		t.Fatal(err)
	}
	return j.ID
}
