package main

// End-to-end tests of the pages in a real Chromium: the whole app boots with
// run on port 0 against the embedded engine, and chromedp drives the browser
// the way a person would (sign up, pick files, watch, click, download).
//
// They need /usr/bin/chromium, flite and ffmpeg (.ci/run installs them).
// Each subtest saves a screenshot under testdata/artifacts/; with
// SCRIBE_UPDATE_SCREENSHOTS=1 the upload and finished-job ones are also
// copied to docs/screenshots/ for the README.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// spoken is what the main recording says, a pause after each sentence; the
// embedded engine should get most of these words back.
var spoken = []string{
	"Good morning everyone.",
	"Today we will talk about the weather in the city.",
	"It will be sunny in the morning and cold at night.",
}

// countEventSources wraps window.EventSource before any page script runs, so
// a test can count the streams a page opens.
const countEventSources = `(() => {
	const Native = window.EventSource;
	window.__eventSources = [];
	window.EventSource = class extends Native {
		constructor(url, init) {
			super(url, init);
			window.__eventSources.push(String(url));
		}
	};
})();`

// recordProgress keeps every value the page's progress bars take, so a test
// can tell that a bar advanced rather than jumped to the end.
const recordProgress = `(() => {
	window.__progress = [];
	new MutationObserver((records) => {
		for (const r of records) {
			if (r.target.matches && r.target.matches('[data-testid="job-progress"]')) {
				window.__progress.push(Number(r.target.getAttribute('value')));
			}
		}
	}).observe(document, {subtree: true, attributes: true, attributeFilter: ['value']});
})();`

// recording speaks each sentence with flite, joins them with 0.8 s of
// silence (so the engine cuts them into separate segments) and encodes the
// result with ffmpeg into dir, in the format the name's extension gives.
func recording(t *testing.T, dir, name string, sentences ...string) string {
	t.Helper()
	for _, tool := range []string{"flite", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("no %s to make test speech (.ci/run installs it)", tool)
		}
	}
	stem := strings.TrimSuffix(name, filepath.Ext(name))
	var args []string
	var filter strings.Builder
	for i, sentence := range sentences {
		wav := filepath.Join(dir, fmt.Sprintf("%s-%d.wav", stem, i))
		if out, err := exec.Command("flite", "-voice", "slt", "-t", sentence, "-o", wav).CombinedOutput(); err != nil {
			t.Fatalf("flite: %v\n%s", err, out)
		}
		args = append(args, "-i", wav)
		fmt.Fprintf(&filter, "[%d]aformat=sample_rates=16000:channel_layouts=mono,apad=pad_dur=0.8[a%d];", i, i)
	}
	for i := range sentences {
		fmt.Fprintf(&filter, "[a%d]", i)
	}
	fmt.Fprintf(&filter, "concat=n=%d:v=0:a=1", len(sentences))
	out := filepath.Join(dir, name)
	args = append([]string{"-nostdin", "-v", "error", "-y"}, append(args, "-filter_complex", filter.String(), out)...)
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	return out
}

// copyFile copies a screenshot to where the docs use it, when
// SCRIBE_UPDATE_SCREENSHOTS is set: a plain test run leaves tracked files alone.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if from == "" || os.Getenv("SCRIBE_UPDATE_SCREENSHOTS") == "" {
		return
	}
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// words are the lower-case words of a text, without punctuation.
func words(s string) []string {
	return strings.Fields(regexp.MustCompile(`[^a-z' ]+`).ReplaceAllString(strings.ToLower(s), " "))
}

// rowState is what a job row shows.
type rowState struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Progress int    `json:"progress"`
	Links    int    `json:"links"`
}

const readRows = `Array.from(document.querySelectorAll('[data-testid="job-list"] [data-testid="job-row"]')).map(r => ({
	id: r.dataset.jobId,
	status: r.dataset.status,
	progress: Number(r.querySelector('[data-testid="job-progress"]').value),
	links: r.querySelectorAll('a[data-testid^="download-"]').length,
}))`

func TestBrowser(t *testing.T) {
	started := time.Now()
	dir := t.TempDir()
	talk := recording(t, dir, "weather.mp3", spoken...)

	// A small upload limit, so a file over it is cheap to make in the page.
	app := startApp(t, map[string]string{"SCRIBE_MAX_UPLOAD_BYTES": strconv.Itoa(maxUploadForBrowser)})
	base := app.URL
	b := newBrowser(t, base)
	b.addScript(countEventSources)
	b.addScript(recordProgress)
	t.Logf("app and browser up in %v", time.Since(started).Round(time.Millisecond))

	var jobID string
	step := func(name string, f func(t *testing.T, b *browserTab)) {
		t.Helper()
		t0 := time.Now()
		ok := t.Run(name, func(t *testing.T) { f(t, b.with(t)) })
		t.Logf("%s: %v", name, time.Since(t0).Round(time.Millisecond))
		if !ok {
			t.FailNow() // later steps build on this one
		}
	}

	step("SignUp", func(t *testing.T, b *browserTab) {
		b.signUp("ada@example.com", "correct horse battery")
		if got := eval[string](b, `document.querySelector('[data-testid="user-email"]').textContent`); got != "ada@example.com" {
			b.fail("signed in as %q", got)
		}
		if got := eval[int](b, `document.querySelectorAll('[data-testid="job-row"]').length`); got != 0 {
			b.fail("new account shows %d jobs", got)
		}
		b.screenshot(t.Name())
	})

	step("UploadShowsLiveProgress", func(t *testing.T, b *browserTab) {
		// A marker that a reload would wipe out.
		eval[chromedp.Void](b, `window.__sameDocument = true`)
		b.do("pick the file and submit",
			chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="file-input"]`), []string{talk}),
			chromedp.Click(chromedp.CSS(`[data-testid="upload-submit"]`)),
		)
		b.waitFor("the new job's row", `document.querySelectorAll('[data-testid="job-row"]').length === 1`, 20*time.Second)
		b.screenshot(t.Name() + "-uploading")
		b.waitFor("the job to complete", `document.querySelector('[data-testid="job-row"]').dataset.status === "completed"`, 90*time.Second)
		rows := eval[[]rowState](b, readRows)
		jobID = rows[0].ID
		if rows[0].Progress != 100 || rows[0].Links != 4 {
			b.fail("finished row = %+v, want progress 100 and 4 download links", rows[0])
		}
		if !eval[bool](b, `window.__sameDocument === true`) {
			b.fail("the page reloaded; the row should update live")
		}
		seen := eval[[]int](b, `window.__progress`)
		between := 0
		for _, v := range seen {
			if v > 0 && v < 100 {
				between++
			}
		}
		if between == 0 {
			b.fail("the progress bar never showed a value between 0 and 100; saw %v", seen)
		}
		if got := eval[string](b, `document.querySelector('[data-testid="upload-item"] [data-testid="upload-error"]')?.textContent ?? ""`); got != "" {
			b.fail("upload error %q", got)
		}
		t.Logf("progress values seen: %v", seen)
		b.screenshot(t.Name())
	})

	step("Transcript", func(t *testing.T, b *browserTab) {
		b.follow("open the job", chromedp.Click(chromedp.CSS(`[data-testid="job-row"] [data-testid="job-link"]`)))
		b.waitFor("the transcript", `document.querySelectorAll('[data-testid="segment"]').length > 0`, 15*time.Second)
		got := eval[string](b, `document.querySelector('[data-testid="transcript"]').innerText`)
		heard := map[string]bool{}
		for _, w := range words(got) {
			heard[w] = true
		}
		want := words(strings.Join(spoken, " "))
		found := 0
		for _, w := range want {
			if heard[w] {
				found++
			}
		}
		t.Logf("transcript: %q (%d of %d words)", got, found, len(want))
		if found*10 < len(want)*6 {
			b.fail("transcript has %d of %d spoken words: %q", found, len(want), got)
		}
		b.screenshot(t.Name())
	})

	step("SegmentSeeksPlayer", func(t *testing.T, b *browserTab) {
		b.waitFor("the audio metadata", `document.querySelector('[data-testid="player"]').readyState >= 1`, 15*time.Second)
		// The last segment starts furthest from 0, so a seek is plain to see.
		start := eval[float64](b, `Number(Array.from(document.querySelectorAll('[data-testid="segment"]')).pop().dataset.start)`)
		if start <= 0.5 {
			b.fail("last segment starts at %v; want a later one to seek to", start)
		}
		b.do("click the last segment", chromedp.Click(chromedp.CSS(`[data-testid="segment"]:last-child .segment-text`)))
		b.waitFor("the player to move to the segment",
			fmt.Sprintf(`document.querySelector('[data-testid="player"]').currentTime >= %f`, start-0.05), 5*time.Second)
		b.waitFor("the segment to be highlighted",
			`document.querySelector('[data-testid="segment"]:last-child').classList.contains('is-current')`, 5*time.Second)
		copyFile(t, b.screenshot(t.Name()), filepath.Join("docs", "screenshots", "job.png"))
	})

	step("Downloads", func(t *testing.T, b *browserTab) {
		type download struct {
			Status int    `json:"status"`
			Type   string `json:"type"`
			Body   string `json:"body"`
		}
		checks := map[string]struct {
			types []string
			body  func(string) bool
		}{
			"txt":  {[]string{"text/plain"}, func(s string) bool { return len(words(s)) > 3 }},
			"srt":  {[]string{"application/x-subrip", "text/srt", "text/plain"}, regexp.MustCompile(`(?m)^1\r?\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}`).MatchString},
			"vtt":  {[]string{"text/vtt"}, func(s string) bool { return strings.HasPrefix(s, "WEBVTT") && strings.Contains(s, " --> ") }},
			"json": {[]string{"application/json"}, func(s string) bool { return json.Valid([]byte(s)) && strings.Contains(s, "segments") }},
		}
		for format, check := range checks {
			href := eval[string](b, fmt.Sprintf(`document.querySelector('[data-testid="download-%s"]').getAttribute('href')`, format))
			if want := "/jobs/" + jobID + "/transcript." + format; href != want {
				b.fail("download-%s href = %q, want %q", format, href, want)
			}
			d := eval[download](b, fmt.Sprintf(`fetch(%q).then(async r => ({status: r.status, type: r.headers.get('content-type') || '', body: await r.text()}))`, href))
			mediaType := strings.TrimSpace(strings.Split(d.Type, ";")[0])
			typeOK := false
			for _, ty := range check.types {
				typeOK = typeOK || mediaType == ty
			}
			if d.Status != 200 || !typeOK || !check.body(d.Body) {
				b.fail("%s download: status %d, type %q (want one of %v), body %.300q", format, d.Status, d.Type, check.types, d.Body)
			}
		}
		b.screenshot(t.Name())
	})

	playerAndEditorSteps(step, app, jobID, talk)

	step("OtherUsersJob", func(t *testing.T, b *browserTab) {
		other := b.incognito(t)
		other.signUp("grace@example.com", "another good password")
		ctx, cancel := context.WithTimeout(other.ctx, 20*time.Second)
		defer cancel()
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+"/jobs/"+jobID))
		if err != nil {
			other.fail("open the other user's job: %v", err)
		}
		if resp.Status != 404 {
			other.fail("status %d for another user's job, want 404", resp.Status)
		}
		if n := eval[int](other, `document.querySelectorAll('[data-testid="player"], [data-testid="segment"]').length`); n != 0 {
			other.fail("another user's job page shows the transcript")
		}
		other.screenshot(t.Name())
	})

	step("FiveUploadsOneEventSource", func(t *testing.T, b *browserTab) {
		var files []string
		for i := range 5 {
			ext := []string{".mp3", ".ogg"}[i%2]
			files = append(files, recording(t, dir, fmt.Sprintf("note-%d%s", i+1, ext),
				fmt.Sprintf("This is note number %d.", i+1), "Please call me back this afternoon."))
		}
		b.open("/")
		b.do("pick five files and submit",
			chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="file-input"]`), files),
			chromedp.Click(chromedp.CSS(`[data-testid="upload-submit"]`)),
		)
		b.waitFor("five upload items", `document.querySelectorAll('[data-testid="upload-item"]').length === 5`, 10*time.Second)
		b.waitFor("six rows", `document.querySelectorAll('[data-testid="job-row"]').length === 6`, 30*time.Second)
		// A keyboard user on the newest row's delete button: live updates of
		// that row must leave the focus where it is.
		focusedStatus := eval[string](b, `(() => {
			const row = document.querySelector('[data-testid="job-row"]');
			window.__focused = row.querySelector('[data-testid="delete"]');
			window.__focused.focus();
			return row.dataset.status;
		})()`)
		copyFile(t, b.screenshot(t.Name()+"-uploading"), filepath.Join("docs", "screenshots", "upload.png"))
		b.waitFor("all six jobs to complete",
			`Array.from(document.querySelectorAll('[data-testid="job-row"]')).every(r => r.dataset.status === "completed")`, 120*time.Second)
		if errs := eval[[]string](b, `Array.from(document.querySelectorAll('[data-testid="upload-error"]')).map(e => e.textContent)`); len(errs) > 0 {
			b.fail("upload errors: %q", errs)
		}
		if !eval[bool](b, `document.activeElement === window.__focused && window.__focused.isConnected`) {
			b.fail("the focus left the delete button of a row that was %s when focused", focusedStatus)
		}
		t.Logf("the focused row was %s when focused", focusedStatus)
		streams := eval[[]string](b, `window.__eventSources`)
		if len(streams) != 1 || !htmlStream(streams[0], "/events") {
			b.fail("the list page opened %d EventSources %q, want exactly one on /events?view=html", len(streams), streams)
		}
		b.screenshot(t.Name())
	})

	step("ReloadResumesLiveUpdates", func(t *testing.T, b *browserTab) {
		// Long enough that the job is still running after a reload.
		var sentences []string
		for range 5 {
			sentences = append(sentences, spoken...)
		}
		long := recording(t, dir, "long.ogg", sentences...)
		b.open("/")
		b.do("upload the long recording",
			chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="file-input"]`), []string{long}),
			chromedp.Click(chromedp.CSS(`[data-testid="upload-submit"]`)),
		)
		b.waitFor("the upload to finish", `document.querySelector('[data-testid="upload-item"] a') !== null`, 30*time.Second)
		b.follow("open the job page", chromedp.Click(chromedp.CSS(`[data-testid="upload-item"] a`)))
		b.waitFor("the job page", `document.querySelector('[data-testid="job-page"]') !== null`, 10*time.Second)
		b.waitFor("progress on the job page",
			`Number(document.querySelector('[data-testid="job-progress"]').value) > 0`, 60*time.Second)
		if eval[bool](b, `document.querySelector('[data-testid="job-panel"]').dataset.status === "completed"`) {
			b.fail("the job finished before the reload; make the recording longer")
		}
		before := eval[int](b, `Number(document.querySelector('[data-testid="job-progress"]').value)`)
		b.do("reload", chromedp.Reload())
		eval[chromedp.Void](b, `window.__sameDocument = true`)
		b.waitFor("the transcript without another reload",
			`document.querySelector('[data-testid="job-panel"]').dataset.status === "completed" && document.querySelectorAll('[data-testid="segment"]').length > 0`, 120*time.Second)
		if !eval[bool](b, `window.__sameDocument === true`) {
			b.fail("the page reloaded itself; the transcript should be swapped in")
		}
		seen := eval[[]int](b, `window.__progress`)
		if len(seen) == 0 {
			b.fail("no live progress after the reload (was %d%% before)", before)
		}
		streams := eval[[]string](b, `window.__eventSources`)
		if path := eval[string](b, `location.pathname`) + "/events"; len(streams) != 1 || !htmlStream(streams[0], path) {
			b.fail("the job page opened %q, want one stream on %s?view=html", streams, path)
		}
		t.Logf("progress before reload %d%%, values after: %v", before, seen)
		b.screenshot(t.Name())
	})

	step("DropFilesWithSizeCheck", func(t *testing.T, b *browserTab) {
		clip := recording(t, dir, "dropped.mp3", "This file was dropped on the page.")
		data, err := os.ReadFile(clip)
		if err != nil {
			t.Fatal(err)
		}
		b.open("/")
		rowsBefore := eval[int](b, `document.querySelectorAll('[data-testid="job-row"]').length`)
		// A real drop event carrying two files: the recording, and one a
		// byte over the server's limit that must be refused in the page.
		eval[chromedp.Void](b, fmt.Sprintf(`(() => {
			const bytes = Uint8Array.from(atob(%q), c => c.charCodeAt(0));
			const dt = new DataTransfer();
			dt.items.add(new File([bytes], "dropped.mp3", {type: "audio/mpeg"}));
			dt.items.add(new File([new Uint8Array(%d)], "huge.wav", {type: "audio/wav"}));
			const zone = document.querySelector('[data-testid="drop-zone"]');
			zone.dispatchEvent(new DragEvent("dragenter", {dataTransfer: dt, bubbles: true, cancelable: true}));
			zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
		})()`, base64.StdEncoding.EncodeToString(data), maxUploadForBrowser+1))
		b.waitFor("two upload items", `document.querySelectorAll('[data-testid="upload-item"]').length === 2`, 10*time.Second)
		b.waitFor("the size error next to the big file",
			`Array.from(document.querySelectorAll('[data-testid="upload-item"]')).some(i => i.textContent.includes("huge.wav") && i.querySelector('[data-testid="upload-error"]')?.textContent.includes("larger than the 4 MB"))`,
			5*time.Second)
		b.waitFor("the dropped recording's row", fmt.Sprintf(`document.querySelectorAll('[data-testid="job-row"]').length === %d`, rowsBefore+1), 30*time.Second)
		sent := eval[int](b, `performance.getEntriesByType('resource').filter(e => e.name.endsWith('/jobs') && e.initiatorType === 'xmlhttprequest').length`)
		if sent != 1 {
			b.fail("%d upload requests, want 1: the oversized file must be refused before sending", sent)
		}
		b.screenshot(t.Name())
	})

	step("DeleteAsksFirst", func(t *testing.T, b *browserTab) {
		b.open("/")
		rows := eval[int](b, `document.querySelectorAll('[data-testid="job-row"]').length`)
		answer := make(chan bool, 2)
		answer <- false // the first time, the person changes their mind
		answer <- true
		chromedp.Listen(b.ctx, func(ev any) {
			if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
				accept := <-answer
				// Answered from another goroutine: the click waits for it.
				go chromedp.Call(b.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
			}
		})
		b.do("click delete, then cancel", chromedp.Click(chromedp.CSS(`[data-testid="job-row"] [data-testid="delete"]`)))
		b.waitFor("the dialog to be answered", `document.readyState === "complete"`, 5*time.Second)
		if got := eval[int](b, `document.querySelectorAll('[data-testid="job-row"]').length`); got != rows {
			b.fail("cancelled delete removed a job: %d rows, want %d", got, rows)
		}
		b.do("click delete, then confirm", chromedp.Click(chromedp.CSS(`[data-testid="job-row"] [data-testid="delete"]`)))
		b.waitFor("one row fewer", fmt.Sprintf(`document.querySelectorAll('[data-testid="job-row"]').length === %d`, rows-1), 15*time.Second)
		b.screenshot(t.Name())
	})

	step("DeleteElsewhereRemovesRowLive", func(t *testing.T, b *browserTab) {
		b.open("/")
		eval[chromedp.Void](b, `window.__sameDocument = true`)
		rows := eval[int](b, `document.querySelectorAll('[data-testid="job-row"]').length`)
		id := eval[string](b, `document.querySelector('[data-testid="job-row"]').dataset.jobId`)
		// As from another tab: this page learns of it only from its stream.
		if status := eval[int](b, fmt.Sprintf(`fetch('/jobs/' + %q + '/delete', {method: 'POST'}).then(r => r.status)`, id)); status != 200 {
			b.fail("delete elsewhere: status %d", status)
		}
		b.waitFor("the row to go", fmt.Sprintf(`document.querySelectorAll('[data-testid="job-row"]').length === %d`, rows-1), 15*time.Second)
		if eval[bool](b, fmt.Sprintf(`Array.from(document.querySelectorAll('[data-testid="job-row"]')).some(r => r.dataset.jobId === %q)`, id)) {
			b.fail("the deleted job's row is still listed")
		}
		if !eval[bool](b, `window.__sameDocument === true`) {
			b.fail("the page reloaded; the row should go live")
		}
		b.screenshot(t.Name())
	})
	t.Logf("browser tests took %v", time.Since(started).Round(time.Millisecond))
}

// htmlStream reports whether an EventSource URL is the stream at path,
// asked for rendered fragments.
func htmlStream(raw, path string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Path == path && u.Query().Get("view") == "html"
}

// maxUploadForBrowser is the upload limit of the browser tests' app: above
// every recording they make, small enough to exceed in the page.
const maxUploadForBrowser = 4 << 20
