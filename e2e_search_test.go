package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"scribe/job"
	"scribe/store"
)

// TestBrowserSearchAndShare finds a transcript from the header's search
// box, follows the result to its moment in the recording, shares the job
// and opens the link in a browser context with no session, then revokes it.
func TestBrowserSearchAndShare(t *testing.T) {
	dir := t.TempDir()
	talk := recording(t, dir, "standup.mp3",
		"Good morning everyone, this is the weekly meeting.",
		"The zeppelin budget review starts right now.",
		"Thank you all and goodbye.")
	app := startApp(t, nil)
	b := newBrowser(t, app.URL)
	b.signUp("ann@example.com", "correct horse battery")
	id := insertCompletedJob(t, app, "ann@example.com", talk, []job.Segment{
		{Start: 0, End: 3, Text: "Good morning everyone, this is the weekly meeting."},
		{Start: 3.5, End: 6, Text: "The zeppelin budget review starts right now."},
		{Start: 6.5, End: 8, Text: "Thank you all and goodbye."},
	})

	var link string
	t.Run("SearchSeeksToSegment", func(t *testing.T) {
		b := b.with(t)
		b.open("/")
		b.do("type in the search box", chromedp.SetValue(chromedp.CSS(`[data-testid="search-input"]`), "zeppelin budg*"))
		b.follow("search", chromedp.Submit(chromedp.CSS(`[data-testid="search-input"]`)))
		b.waitFor("one result", `document.querySelectorAll('[data-testid="search-result"]').length === 1`, 10*time.Second)
		if got := eval[[]string](b, `[...document.querySelectorAll('[data-testid="search-snippet"] mark')].map(m => m.textContent)`); len(got) != 2 || got[0] != "zeppelin" || got[1] != "budget" {
			b.fail("marked %q", got)
		}
		b.screenshot(t.Name())
		b.follow("open the result", chromedp.Click(chromedp.CSS(`[data-testid="search-result-link"]`)))
		b.waitFor("the player at the segment", `(() => {
			const audio = document.querySelector('[data-testid="player"]');
			const current = document.querySelector('[data-testid="segment"].is-current');
			return location.pathname === '/jobs/`+id+`' && audio && Math.abs(audio.currentTime - 3.5) < 0.05 &&
				current && parseFloat(current.dataset.start) === 3.5;
		})()`, 15*time.Second)
	})

	t.Run("ShareWorksWithoutSession", func(t *testing.T) {
		b := b.with(t)
		b.follow("make a link", chromedp.Click(chromedp.CSS(`[data-testid="share-create"]`)))
		b.waitFor("the link", `document.querySelector('[data-testid="share-url"]') !== null`, 10*time.Second)
		link = eval[string](b, `document.querySelector('[data-testid="share-url"]').value`)
		guest := b.incognito(t)
		guest.follow("open the link", chromedp.Navigate(link))
		guest.waitFor("the shared page with its audio loaded", `document.querySelector('[data-testid="shared-page"]') !== null &&
			document.querySelector('[data-testid="player"]').readyState >= 1`, 15*time.Second)
		if n := eval[int](guest, `document.querySelectorAll('[data-testid="segment"]').length`); n != 3 {
			guest.fail("%d segments", n)
		}
		if n := eval[int](guest, `document.querySelectorAll('[data-testid="segment-edit"], [data-testid="edit-transcript"], [data-testid="delete"], [data-testid="share"], [data-testid="user-email"]').length`); n != 0 {
			guest.fail("%d owner controls on the shared page", n)
		}
		if status := eval[int](guest, `fetch(document.querySelector('[data-testid="download-srt"]').href).then(r => r.status)`); status != 200 {
			guest.fail("download: %d", status)
		}
		if where := eval[string](guest, `fetch('/jobs/`+id+`').then(r => new URL(r.url).pathname)`); where != "/login" {
			guest.fail("the owner's job page answered the guest with %s", where)
		}
		guest.screenshot(t.Name())

		b.follow("stop sharing", chromedp.Click(chromedp.CSS(`[data-testid="share-revoke"]`)))
		b.waitFor("not shared", `document.querySelector('[data-testid="share-status"]').textContent.includes('Not shared')`, 10*time.Second)
		guest.open(sharedPathOf(link))
		if eval[bool](guest, `document.querySelector('[data-testid="shared-page"]') !== null`) {
			guest.fail("the revoked link still shows the job")
		}
		if status := eval[int](guest, `fetch(location.pathname + '/audio').then(r => r.status)`); status != 404 {
			guest.fail("revoked audio: %d", status)
		}
	})
}

// sharedPathOf is a share link's path, for browserTab.open.
func sharedPathOf(link string) string {
	if i := len("http://"); len(link) > i {
		for j := i; j < len(link); j++ {
			if link[j] == '/' {
				return link[j:]
			}
		}
	}
	return link
}

// insertCompletedJob adds a completed job for the user straight into the
// running app's store, its audio a copy of audio, its transcript segs.
func insertCompletedJob(t *testing.T, app *testApp, email, audio string, segs []job.Segment) string {
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
	data, err := os.ReadFile(audio)
	if err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(t.TempDir(), filepath.Base(audio))
	if err := os.WriteFile(own, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res := &job.Result{Language: "en", Duration: segs[len(segs)-1].End, Segments: segs}
	for _, seg := range segs {
		res.Text += seg.Text + " "
	}
	// Not due for submission, so the app's submitter leaves it alone.
	s.Now = func() time.Time { return time.Now().UTC().Add(24 * time.Hour) }
	j, err := s.CreateJob(ctx, job.Job{ID: "searchable", UserID: u.ID, Filename: filepath.Base(audio), AudioPath: own, Duration: res.Duration})
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return time.Now().UTC() }
	if _, err := s.MarkSubmitted(ctx, j.ID, "searchable-upstream"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ApplyUpdate(ctx, job.Update{UpstreamID: "searchable-upstream", Status: job.StatusCompleted, Progress: 1, Result: res, Via: job.ViaPoll}); err != nil {
		t.Fatal(err)
	}
	return j.ID
}
