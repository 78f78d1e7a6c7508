package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"scribe/deepscript/deepscripttest"
	"scribe/media/mediatest"
)

// rowNames reads the list's rows as their names, top to bottom.
const rowNames = `Array.from(document.querySelectorAll('[data-testid="job-row"] [data-testid="job-link"]')).map(a => a.textContent.trim())`

// TestBrowserOrganise renames and tags a job on its page, finds it again
// by its tag and by status, sorts the list by name, sees a rename made
// elsewhere arrive live, and deletes a selection of rows, in chromium
// against the app with the fake upstream.
func TestBrowserOrganise(t *testing.T) {
	started := time.Now()
	dir := t.TempDir()
	// Two recordings with the same name, from different folders: the rows
	// tell them apart by time, duration and size.
	var files []string
	for i, name := range []string{"meeting.wav", "meeting.wav", "call.wav"} {
		sub := filepath.Join(dir, fmt.Sprint(i))
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		files = append(files, mediatest.Tone(t, sub, name, 300+float64(i)*40))
	}
	app := startApp(t, fakeEnv(deepscripttest.NewServer(t)))
	b := newBrowser(t, app.URL)
	step := func(name string, f func(t *testing.T, b *browserTab)) {
		t.Helper()
		if !t.Run(name, func(t *testing.T) { f(t, b.with(t)) }) {
			t.FailNow() // later steps build on this one
		}
	}

	step("Upload", func(t *testing.T, b *browserTab) {
		b.signUp("ada@example.com", "correct horse battery")
		b.do("upload three files",
			chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="file-input"]`), files),
			chromedp.Click(chromedp.CSS(`[data-testid="upload-submit"]`)),
		)
		b.waitFor("three completed rows", `document.querySelectorAll('[data-testid="job-row"][data-status="completed"]').length === 3`, 60*time.Second)
		for _, id := range []string{"job-created", "job-duration", "job-size"} {
			if n := eval[int](b, fmt.Sprintf(`document.querySelectorAll('[data-testid="job-row"] [data-testid=%q]').length`, id)); n != 3 {
				b.fail("%d rows show %s, want 3", n, id)
			}
		}
	})

	step("RenameAndTag", func(t *testing.T, b *browserTab) {
		// Uploads run two at a time, so rows may come in any order.
		b.open(eval[string](b, `Array.from(document.querySelectorAll('[data-testid="job-link"]')).find(a => a.textContent === "call.wav").pathname`))
		if got := eval[string](b, `document.querySelector('[data-testid="job-filename"]').textContent`); got != "call.wav" {
			b.fail("opened %q, want call.wav", got)
		}
		b.do("open the name and tags", chromedp.Click(chromedp.CSS(`[data-testid="organise"] summary`)))
		// The label names the field, for screen readers and for this click.
		b.do("rename",
			chromedp.Click(chromedp.CSS(`label[for="job-name-input"]`)),
			chromedp.Evaluate[chromedp.Void](`document.activeElement.select()`),
			chromedp.SendKeys(chromedp.CSS(`[data-testid="rename-input"]`), "Budget call"),
		)
		b.follow("save the name", chromedp.Click(chromedp.CSS(`[data-testid="rename-submit"]`)))
		b.waitFor("the new name", `document.querySelector('[data-testid="job-filename"]').textContent === "Budget call"`, 10*time.Second)
		if got := eval[string](b, `document.querySelector('[data-testid="job-original-filename"]').textContent`); got != "call.wav" {
			b.fail("original filename shows %q, want call.wav", got)
		}
		b.do("open the name and tags", chromedp.Click(chromedp.CSS(`[data-testid="organise"] summary`)))
		b.do("type tags", chromedp.SendKeys(chromedp.CSS(`[data-testid="tag-input"]`), "Work, q3"))
		b.follow("add the tags", chromedp.Click(chromedp.CSS(`[data-testid="tag-submit"]`)))
		got := eval[[]string](b, `Array.from(document.querySelectorAll('[data-testid="tag"]')).map(e => e.textContent)`)
		if !slices.Equal(got, []string{"q3", "work"}) {
			b.fail("tags %v, want [q3 work]", got)
		}
		b.screenshot(t.Name())
	})

	step("FilterByTagAndStatus", func(t *testing.T, b *browserTab) {
		b.open("/")
		b.follow("click the row's tag", chromedp.Click(chromedp.CSS(`[data-testid="job-tag"]:last-child`)))
		b.waitFor("only the tagged job", `document.querySelectorAll('[data-testid="job-row"]').length === 1`, 10*time.Second)
		if got := eval[[]string](b, rowNames); !slices.Equal(got, []string{"Budget call"}) {
			b.fail("rows %v, want [Budget call]", got)
		}
		if got := eval[string](b, `document.querySelector('[data-testid="filter-tag"]').value`); got == "" {
			b.fail("the tag filter does not show the tag")
		}
		b.do("filter by failed status",
			chromedp.SetValue(chromedp.CSS(`[data-testid="filter-status"]`), "failed"),
		)
		b.follow("apply", chromedp.Click(chromedp.CSS(`[data-testid="filter-apply"]`)))
		if got := eval[int](b, `document.querySelectorAll('[data-testid="job-row"]').length`); got != 0 {
			b.fail("%d failed jobs tagged, want none", got)
		}
		if !eval[bool](b, `!document.querySelector('[data-testid="job-list-empty"]').hidden`) {
			b.fail("no message that nothing matches")
		}
		b.follow("clear the filters", chromedp.Click(chromedp.CSS(`[data-testid="filter-clear"]`)))
		if got := eval[int](b, `document.querySelectorAll('[data-testid="job-row"]').length`); got != 3 {
			b.fail("%d rows after clearing, want 3", got)
		}
	})

	step("SortByName", func(t *testing.T, b *browserTab) {
		b.do("sort by name", chromedp.SetValue(chromedp.CSS(`[data-testid="filter-sort"]`), "name"))
		b.follow("apply", chromedp.Click(chromedp.CSS(`[data-testid="filter-apply"]`)))
		if got := eval[[]string](b, rowNames); !slices.Equal(got, []string{"Budget call", "meeting.wav", "meeting.wav"}) {
			b.fail("rows %v, want by name", got)
		}
	})

	step("RenameElsewhereShowsLive", func(t *testing.T, b *browserTab) {
		b.open("/")
		eval[chromedp.Void](b, `window.__sameDocument = true`)
		id := eval[string](b, `document.querySelector('[data-testid="job-row"]').dataset.jobId`)
		// As from a script: this page learns of it only from its stream.
		status := eval[int](b, fmt.Sprintf(`fetch('/jobs/' + %q, {method: 'PATCH', headers: {'Content-Type': 'application/json',
			'Accept': 'application/json'}, body: JSON.stringify({name: 'Standup', tags: ['daily']})}).then(r => r.status)`, id))
		if status != 200 {
			b.fail("PATCH: status %d", status)
		}
		b.waitFor("the row renamed live", fmt.Sprintf(`document.querySelector('[data-job-id=%q] [data-testid="job-link"]').textContent === "Standup"`, id), 15*time.Second)
		b.waitFor("its tag shown", fmt.Sprintf(`document.querySelector('[data-job-id=%q] [data-testid="job-tag"]')?.textContent === "daily"`, id), 5*time.Second)
		if !eval[bool](b, `window.__sameDocument === true`) {
			b.fail("the page reloaded; the row should update live")
		}
	})

	step("BulkDelete", func(t *testing.T, b *browserTab) {
		b.open("/")
		eval[chromedp.Void](b, `window.confirm = () => true`)
		b.do("select two rows",
			chromedp.Click(chromedp.CSS(`[data-testid="job-row"]:nth-child(1) [data-testid="job-select"]`)),
			chromedp.Click(chromedp.CSS(`[data-testid="job-row"]:nth-child(2) [data-testid="job-select"]`)),
		)
		b.follow("delete them", chromedp.Click(chromedp.CSS(`[data-testid="bulk-delete"]`)))
		b.waitFor("one row left", `document.querySelectorAll('[data-testid="job-row"]').length === 1`, 15*time.Second)
		if got := eval[string](b, `document.querySelector('[data-testid="flash"]')?.textContent ?? document.body.innerText`); !strings.Contains(got, "Deleted 2 jobs.") {
			b.fail("no message about the deletion: %q", got)
		}
		b.screenshot(t.Name())
	})
	t.Logf("organise browser test took %v", time.Since(started).Round(time.Millisecond))
}
