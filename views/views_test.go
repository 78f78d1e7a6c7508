package views

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"scribe/static"
)

// render draws a component and parses the HTML for assertions.
func render(t *testing.T, c templ.Component) (*goquery.Document, string) {
	t.Helper()
	var buf bytes.Buffer
	ctx := templ.WithNonce(context.Background(), "n0nce")
	if err := c.Render(ctx, &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc, buf.String()
}

func byTestID(doc *goquery.Document, id string) *goquery.Selection {
	return doc.Find(`[data-testid="` + id + `"]`)
}

var (
	created  = time.Date(2026, 3, 4, 10, 15, 0, 0, time.UTC)
	signedIn = Layout{Title: "Home", UserEmail: "ada@example.com"}
)

// completedJob is a finished job with the downloads a handler would list;
// two, in an order no page keeps, so the tests see views draw what they get.
func completedJob() Job {
	return Job{ID: "j1", Filename: "talk.mp3", Name: "talk.mp3", Status: "completed", Progress: 1, Duration: 75.4,
		CreatedAt: created, UpdatedAt: created.Add(42 * time.Second), CompletedVia: "webhook",
		Downloads: []Download{{Label: "VTT", URL: "/jobs/j1/transcript.vtt", Ext: "vtt"}, {Label: "TXT", URL: "/jobs/j1/transcript.txt", Ext: "txt"}}}
}

// checkDownloads asserts that in finds exactly the job's downloads, in its order.
func checkDownloads(t *testing.T, in *goquery.Selection, j Job) {
	t.Helper()
	links := in.Find(`a[data-testid^="download-"]`)
	if got, want := links.Length(), len(j.Downloads); got != want {
		t.Fatalf("download links = %d, want %d", got, want)
	}
	links.Each(func(i int, a *goquery.Selection) {
		d := j.Downloads[i]
		if got, want := a.AttrOr("data-testid", ""), "download-"+d.Ext; got != want {
			t.Errorf("download %d testid = %q, want %q", i, got, want)
		}
		if got, want := a.AttrOr("href", ""), d.URL; got != want {
			t.Errorf("download %d href = %q, want %q", i, got, want)
		}
		if !strings.Contains(a.Text(), d.Label) {
			t.Errorf("download %d says %q, want it to name %q", i, a.Text(), d.Label)
		}
		if _, ok := a.Attr("download"); !ok {
			t.Errorf("download %d lacks the download attribute", i)
		}
	})
}

func TestLayout(t *testing.T) {
	t.Run("SignedIn", func(t *testing.T) {
		doc, _ := render(t, HomePage(HomeModel{Layout: signedIn}))
		if got, want := byTestID(doc, "user-email").Text(), "ada@example.com"; got != want {
			t.Errorf("user email = %q, want %q", got, want)
		}
		if got := doc.Find(`form[action="/logout"][method="post"] button`).Length(); got != 1 {
			t.Errorf("sign out buttons = %d, want 1", got)
		}
		if got := byTestID(doc, "nav-delivery").AttrOr("href", ""); got != "/delivery" {
			t.Errorf("delivery link = %q", got)
		}
		if got := byTestID(doc, "nav-login").Length(); got != 0 {
			t.Errorf("sign-in link shown to a signed-in user")
		}
		if got, want := doc.Find("title").Text(), "Home · Scribe"; got != want {
			t.Errorf("title = %q, want %q", got, want)
		}
	})
	t.Run("SignedOut", func(t *testing.T) {
		doc, _ := render(t, LoginPage(AuthModel{}))
		if byTestID(doc, "nav-login").Length() != 1 || byTestID(doc, "nav-signup").Length() != 1 {
			t.Errorf("sign in/up links missing")
		}
		if doc.Find(`form[action="/logout"]`).Length() != 0 {
			t.Errorf("sign-out form shown to a signed-out visitor")
		}
	})
	t.Run("ScriptHasNonce", func(t *testing.T) {
		doc, _ := render(t, LoginPage(AuthModel{}))
		s := doc.Find(`script[src="` + static.URL("app.js") + `"]`)
		if got, want := s.AttrOr("nonce", ""), "n0nce"; got != want {
			t.Errorf("script nonce = %q, want %q", got, want)
		}
		if _, ok := s.Attr("defer"); !ok {
			t.Errorf("script is not deferred")
		}
	})
	t.Run("VersionedAssets", func(t *testing.T) {
		doc, _ := render(t, LoginPage(AuthModel{}))
		for _, sel := range []string{`link[rel="stylesheet"][href="` + static.URL("app.css") + `"]`,
			`link[rel="icon"][href="` + static.URL("icon.svg") + `"]`, `img[src="` + static.URL("icon.svg") + `"]`} {
			if doc.Find(sel).Length() != 1 {
				t.Errorf("no %s", sel)
			}
		}
		doc.Find("link[href], script[src], img[src]").Each(func(_ int, s *goquery.Selection) {
			u := s.AttrOr("href", s.AttrOr("src", ""))
			if !strings.Contains(u, "?v=") {
				t.Errorf("<%s> loads %q without a version", goquery.NodeName(s), u)
			}
		})
	})
	t.Run("NoInlineStyleOrScript", func(t *testing.T) {
		pages := map[string]templ.Component{
			"home":     HomePage(HomeModel{Layout: signedIn, Jobs: []Job{completedJob()}}),
			"job":      JobPage(JobModel{Layout: signedIn, Job: completedJob(), Transcript: Transcript{Segments: []Segment{{Start: 0, End: 1, Text: "hi"}}}}),
			"delivery": DeliveryHealthPage(DeliveryHealthModel{Layout: signedIn, WebhooksStale: true}),
		}
		for name, c := range pages {
			doc, _ := render(t, c)
			if n := doc.Find("[style], style").Length(); n != 0 {
				t.Errorf("%s: %d inline styles; the CSP blocks them", name, n)
			}
			if n := doc.Find("script:not([src])").Length(); n != 0 {
				t.Errorf("%s: %d inline scripts", name, n)
			}
			doc.Find("*").Each(func(_ int, s *goquery.Selection) {
				for _, a := range s.Nodes[0].Attr {
					if strings.HasPrefix(a.Key, "on") {
						t.Errorf("%s: inline handler %s on <%s>", name, a.Key, goquery.NodeName(s))
					}
				}
			})
		}
	})
	t.Run("Flash", func(t *testing.T) {
		doc, _ := render(t, HomePage(HomeModel{Layout: Layout{UserEmail: "a@b.c", Flash: "Job deleted."}}))
		if got, want := byTestID(doc, "flash").Text(), "Job deleted."; got != want {
			t.Errorf("flash = %q, want %q", got, want)
		}
	})
}

func TestBalanceBanner(t *testing.T) {
	for _, tc := range []struct {
		name string
		low  bool
		want int
	}{{"Low", true, 1}, {"OK", false, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			doc, _ := render(t, HomePage(HomeModel{Layout: Layout{UserEmail: "a@b.c", BalanceLow: tc.low}}))
			if got := byTestID(doc, "balance-low").Length(); got != tc.want {
				t.Errorf("balance-low banners = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestAuthPages(t *testing.T) {
	t.Run("SignupForm", func(t *testing.T) {
		doc, _ := render(t, SignupPage(AuthModel{}))
		form := doc.Find(`form[method="post"][action="/signup"]`)
		if form.Length() != 1 {
			t.Fatalf("no sign-up form")
		}
		if form.Find(`input[name="email"][type="email"]`).Length() != 1 || form.Find(`input[name="password"][type="password"]`).Length() != 1 {
			t.Errorf("email or password field missing")
		}
		if got := form.Find(`input[name="password"]`).AttrOr("autocomplete", ""); got != "new-password" {
			t.Errorf("password autocomplete = %q, want new-password", got)
		}
		if byTestID(doc, "form-error").Length() != 0 {
			t.Errorf("form-error shown without an error")
		}
	})
	t.Run("LoginError", func(t *testing.T) {
		doc, _ := render(t, LoginPage(AuthModel{Email: "ada@example.com", Error: "Wrong email or password."}))
		if doc.Find(`form[method="post"][action="/login"]`).Length() != 1 {
			t.Fatalf("no log-in form")
		}
		if got, want := strings.TrimSpace(byTestID(doc, "form-error").Text()), "Wrong email or password."; got != want {
			t.Errorf("form-error = %q, want %q", got, want)
		}
		if got, want := byTestID(doc, "email").AttrOr("value", ""), "ada@example.com"; got != want {
			t.Errorf("email echoed = %q, want %q", got, want)
		}
		if got := byTestID(doc, "email").AttrOr("aria-invalid", ""); got != "true" {
			t.Errorf("email aria-invalid = %q", got)
		}
	})
}

func TestHomePage(t *testing.T) {
	t.Run("TwoJobs", func(t *testing.T) {
		jobs := []Job{
			completedJob(),
			{ID: "j2", Filename: "call.ogg", Name: "call.ogg", Status: "processing", Progress: 0.42, CreatedAt: created},
		}
		doc, _ := render(t, HomePage(HomeModel{Layout: signedIn, Jobs: jobs, MaxUploadBytes: 100 << 20}))
		rows := byTestID(doc, "job-list").Find(`[data-testid="job-row"]`)
		if got, want := rows.Length(), 2; got != want {
			t.Fatalf("job rows = %d, want %d", got, want)
		}
		if got, want := rows.Eq(0).AttrOr("data-job-id", ""), "j1"; got != want {
			t.Errorf("first row id = %q, want %q", got, want)
		}
		done, running := rows.Eq(0), rows.Eq(1)
		if got, want := done.Find(`[data-testid="job-duration"]`).Text(), "1:15"; got != want {
			t.Errorf("duration = %q, want %q", got, want)
		}
		if got, want := done.Find("time").AttrOr("datetime", ""), "2026-03-04T10:15:00Z"; got != want {
			t.Errorf("created datetime = %q, want %q", got, want)
		}
		if got, want := done.Find(`[data-testid="job-status"]`).Text(), "Completed"; got != want {
			t.Errorf("status = %q, want %q", got, want)
		}
		if got, want := done.Find(`[data-testid="job-link"]`).AttrOr("href", ""), "/jobs/j1"; got != want {
			t.Errorf("job link = %q, want %q", got, want)
		}
		checkDownloads(t, done, jobs[0])
		if n := running.Find(`[data-testid^="download-"]`).Length(); n != 0 {
			t.Errorf("running job offers %d downloads", n)
		}
		if got, want := running.Find(`progress[data-testid="job-progress"]`).AttrOr("value", ""), "42"; got != want {
			t.Errorf("progress value = %q, want %q", got, want)
		}
		del := done.Find(`form[action="/jobs/j1/delete"][method="post"]`)
		if del.Length() != 1 || del.AttrOr("data-confirm", "") == "" {
			t.Errorf("delete form with data-confirm missing")
		}
		if byTestID(doc, "job-list-empty").AttrOr("hidden", "absent") == "absent" {
			t.Errorf("empty-list message visible with jobs")
		}
	})
	t.Run("UploadFormWorksWithoutJS", func(t *testing.T) {
		doc, _ := render(t, HomePage(HomeModel{Layout: signedIn, MaxUploadBytes: 100 << 20}))
		form := byTestID(doc, "upload-form")
		if got := goquery.NodeName(form); got != "form" {
			t.Fatalf("upload-form is <%s>", got)
		}
		for attr, want := range map[string]string{"method": "post", "action": "/jobs", "enctype": "multipart/form-data", "data-max-upload-bytes": "104857600"} {
			if got := form.AttrOr(attr, ""); got != want {
				t.Errorf("form %s = %q, want %q", attr, got, want)
			}
		}
		in := form.Find(`[data-testid="file-input"]`)
		if in.AttrOr("type", "") != "file" || in.AttrOr("name", "") != "file" || in.AttrOr("accept", "") != "audio/*,video/*" {
			t.Errorf("file input = %v", in.Nodes[0].Attr)
		}
		if _, ok := in.Attr("multiple"); !ok {
			t.Errorf("file input lacks multiple")
		}
		if got := form.Find(`button[type="submit"][data-testid="upload-submit"]`).Length(); got != 1 {
			t.Errorf("submit buttons = %d", got)
		}
		if byTestID(doc, "drop-zone").Length() != 1 {
			t.Errorf("no drop zone")
		}
		if !strings.Contains(byTestID(doc, "drop-zone").Text(), "100 MB") {
			t.Errorf("size limit not shown: %q", byTestID(doc, "drop-zone").Text())
		}
		if byTestID(doc, "job-list").Length() != 1 || byTestID(doc, "job-row").Length() != 0 {
			t.Errorf("empty job list wrong")
		}
		if got, want := byTestID(doc, "job-list").AttrOr("data-stream", ""), "/events?view=html"; got != want {
			t.Errorf("job-list data-stream = %q, want %q", got, want)
		}
		if _, hidden := byTestID(doc, "job-list-empty").Attr("hidden"); hidden {
			t.Errorf("empty-list message hidden with no jobs")
		}
	})
	t.Run("UploadErrors", func(t *testing.T) {
		doc, _ := render(t, HomePage(HomeModel{Layout: signedIn, UploadErrors: []string{"a.txt is not audio.", "b.wav is too large."}}))
		if got, want := byTestID(doc, "upload-error").Length(), 2; got != want {
			t.Errorf("upload errors = %d, want %d", got, want)
		}
	})
	t.Run("FailedRow", func(t *testing.T) {
		j := Job{ID: "j3", Filename: "x.mp3", Name: "x.mp3", Status: "failed", Error: "The recording has no sound.", CreatedAt: created}
		doc, _ := render(t, HomePage(HomeModel{Layout: signedIn, Jobs: []Job{j}}))
		if got, want := byTestID(doc, "job-error").Text(), j.Error; got != want {
			t.Errorf("row error = %q, want %q", got, want)
		}
		if doc.Find(`form[action="/jobs/j3/retry"] [data-testid="retry"]`).Length() != 1 {
			t.Errorf("no retry button")
		}
	})
	t.Run("EscapesFilename", func(t *testing.T) {
		j := Job{ID: "j4", Filename: `<script>alert(1)</script>.mp3`, Name: `<script>alert(1)</script>.mp3`, Status: "queued", CreatedAt: created}
		doc, html := render(t, HomePage(HomeModel{Layout: signedIn, Jobs: []Job{j}}))
		if strings.Contains(html, "<script>alert(1)") {
			t.Errorf("filename not escaped in:\n%s", html)
		}
		if got := byTestID(doc, "job-link").Text(); got != j.Filename {
			t.Errorf("filename shown as %q, want %q", got, j.Filename)
		}
		if n := doc.Find("script").Length(); n != 1 {
			t.Errorf("scripts = %d, want only app.js", n)
		}
	})
}

func TestJobPage(t *testing.T) {
	segments := []Segment{{Start: 0, End: 2.5, Text: "hello world"}, {Start: 2.5, End: 65, Text: "this is a test"}}
	t.Run("Completed", func(t *testing.T) {
		doc, _ := render(t, JobPage(JobModel{Layout: signedIn, Job: completedJob(), Transcript: Transcript{Segments: segments, Text: "hello world this is a test"}}))
		player := byTestID(doc, "player")
		if goquery.NodeName(player) != "audio" || player.AttrOr("src", "") != "/jobs/j1/audio" {
			t.Errorf("player = <%s src=%q>", goquery.NodeName(player), player.AttrOr("src", ""))
		}
		if _, ok := player.Attr("controls"); !ok {
			t.Errorf("player lacks controls")
		}
		checkDownloads(t, doc.Selection, completedJob())
		segs := byTestID(doc, "segment")
		if got, want := segs.Length(), 2; got != want {
			t.Fatalf("segments = %d, want %d", got, want)
		}
		second := segs.Eq(1)
		if got, want := second.AttrOr("data-start", ""), "2.500"; got != want {
			t.Errorf("data-start = %q, want %q", got, want)
		}
		if got, want := second.AttrOr("data-end", ""), "65.000"; got != want {
			t.Errorf("data-end = %q, want %q", got, want)
		}
		if got, want := second.Find(".segment-time").Text(), "0:02"; got != want {
			t.Errorf("timestamp = %q, want %q", got, want)
		}
		if got, want := second.Find(".segment-text").Text(), "this is a test"; got != want {
			t.Errorf("segment text = %q, want %q", got, want)
		}
		if byTestID(doc, "copy-transcript").Length() != 1 {
			t.Errorf("no copy button")
		}
		if got, want := byTestID(doc, "transcript-text").Text(), "hello world this is a test"; got != want {
			t.Errorf("plain text = %q, want %q", got, want)
		}
		status := byTestID(doc, "job-status")
		if status.AttrOr("aria-live", "") != "polite" || status.Text() != "Completed" {
			t.Errorf("status = %q aria-live=%q", status.Text(), status.AttrOr("aria-live", ""))
		}
		if got, want := byTestID(doc, "job-progress").AttrOr("value", ""), "100"; got != want {
			t.Errorf("progress = %q, want %q", got, want)
		}
		if got, want := byTestID(doc, "elapsed").Text(), "Took 0:42"; got != want {
			t.Errorf("elapsed = %q, want %q", got, want)
		}
		if byTestID(doc, "job-error").Length()+byTestID(doc, "retry").Length() != 0 {
			t.Errorf("completed job shows error or retry")
		}
		if _, ok := byTestID(doc, "job-page").Attr("data-stream"); ok {
			t.Errorf("a finished job's page opens a stream")
		}
	})
	t.Run("Failed", func(t *testing.T) {
		j := Job{ID: "j9", Filename: "x.mp3", Name: "x.mp3", Status: "failed", Progress: 0.3, Error: "The file could not be decoded.", CreatedAt: created, UpdatedAt: created}
		doc, _ := render(t, JobPage(JobModel{Layout: signedIn, Job: j}))
		if got, want := strings.TrimSpace(byTestID(doc, "job-error").Text()), j.Error; got != want {
			t.Errorf("job-error = %q, want %q", got, want)
		}
		if doc.Find(`form[method="post"][action="/jobs/j9/retry"] [data-testid="retry"]`).Length() != 1 {
			t.Errorf("no retry form")
		}
		if byTestID(doc, "player").Length()+byTestID(doc, "segment").Length() != 0 {
			t.Errorf("failed job shows a player or transcript")
		}
	})
	t.Run("Processing", func(t *testing.T) {
		j := Job{ID: "j5", Filename: "x.mp3", Name: "x.mp3", Status: "processing", Progress: 0.5, CreatedAt: created, UpdatedAt: created}
		doc, _ := render(t, JobPage(JobModel{Layout: signedIn, Job: j}))
		if got, want := byTestID(doc, "job-page").AttrOr("data-stream", ""), "/jobs/j5/events?view=html"; got != want {
			t.Errorf("job-page data-stream = %q, want %q", got, want)
		}
		panel := byTestID(doc, "job-panel")
		if panel.AttrOr("data-status", "") != "processing" || panel.AttrOr("data-created-at", "") != "2026-03-04T10:15:00Z" {
			t.Errorf("job-panel data attributes = %v", panel.Nodes[0].Attr)
		}
		if got, want := byTestID(doc, "job-progress").AttrOr("value", ""), "50"; got != want {
			t.Errorf("progress = %q, want %q", got, want)
		}
		if byTestID(doc, "eta").Length() != 1 || byTestID(doc, "elapsed").Length() != 1 {
			t.Errorf("elapsed or eta placeholders missing")
		}
		if byTestID(doc, "player").Length() != 0 || byTestID(doc, "download-txt").Length() != 0 {
			t.Errorf("running job offers player or downloads")
		}
	})
	t.Run("EscapesText", func(t *testing.T) {
		j := completedJob()
		j.Filename = `"><img src=x onerror=alert(1)>`
		_, html := render(t, JobPage(JobModel{Layout: signedIn, Job: j, Transcript: Transcript{Segments: []Segment{{Start: 0, End: 1, Text: "<b>bold</b>"}}, Text: "<b>bold</b>"}}))
		if strings.Contains(html, "<img src=x") || strings.Contains(html, "<b>bold") {
			t.Errorf("unescaped text in:\n%s", html)
		}
	})
}

func TestDeliveryHealthPage(t *testing.T) {
	base := DeliveryHealthModel{Layout: signedIn, ViaWebhook: 8, ViaSSE: 1, ViaPoll: 1, PollsMade: 12, PollsAt3s: 400, MedianLatency: 0.25}
	t.Run("Healthy", func(t *testing.T) {
		doc, _ := render(t, DeliveryHealthPage(base))
		if byTestID(doc, "webhooks-stale").Length() != 0 {
			t.Errorf("stale warning shown while healthy")
		}
		if got, want := byTestID(doc, "via-webhook").Find("td").First().Text(), "8"; got != want {
			t.Errorf("webhook count = %q, want %q", got, want)
		}
		if got, want := byTestID(doc, "via-webhook").Find("td").Last().Text(), "80%"; got != want {
			t.Errorf("webhook share = %q, want %q", got, want)
		}
		if got, want := byTestID(doc, "median-latency").Find("td").Text(), "250 ms"; got != want {
			t.Errorf("median latency = %q, want %q", got, want)
		}
		if got := strings.TrimSpace(byTestID(doc, "last-webhook").Find("td").Text()); got != "never" {
			t.Errorf("last webhook = %q, want never", got)
		}
	})
	t.Run("Stale", func(t *testing.T) {
		p := base
		p.WebhooksStale = true
		p.LastWebhookAt = created
		doc, _ := render(t, DeliveryHealthPage(p))
		warn := byTestID(doc, "webhooks-stale")
		if warn.Length() != 1 {
			t.Fatalf("no stale warning")
		}
		if got, want := warn.Find("time").AttrOr("datetime", ""), "2026-03-04T10:15:00Z"; got != want {
			t.Errorf("last webhook time = %q, want %q", got, want)
		}
	})
}

func TestErrorPage(t *testing.T) {
	doc, _ := render(t, ErrorPage(ErrorModel{Layout: signedIn, Status: 404, Message: "No such job."}))
	if got, want := doc.Find("h1").Text(), "No such job."; !strings.Contains(got, want) {
		t.Errorf("heading = %q, want %q", got, want)
	}
	if got, want := doc.Find(".error-status").Text(), "404 · Not Found"; got != want {
		t.Errorf("status line = %q, want %q", got, want)
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		sec  float64
		want string
	}{{0, "–"}, {0.4, "0:00"}, {59.9, "0:59"}, {75, "1:15"}, {3600, "1:00:00"}, {3725, "1:02:05"}} {
		if got := formatDuration(tc.sec); got != tc.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tc.sec, got, tc.want)
		}
	}
	for _, tc := range []struct {
		n    int64
		want string
	}{{100 << 20, "100 MB"}, {1 << 30, "1 GB"}, {1536 << 10, "1.5 MB"}, {2048, "2 KB"}} {
		if got := formatBytes(tc.n); got != tc.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if got, want := jobURL("a/b", "/audio"), "/jobs/a%2Fb/audio"; got != want {
		t.Errorf("jobURL = %q, want %q", got, want)
	}
	if got, want := percent(Job{Status: "processing", Progress: 1.7}), 100; got != want {
		t.Errorf("percent clamps to %d, want %d", got, want)
	}
}

// TestFragments checks the components the event streams send: each is one
// element the page script can swap in, and the same markup the page has.
func TestFragments(t *testing.T) {
	running := Job{ID: "j5", Filename: "x.mp3", Name: "x.mp3", Status: "processing", Progress: 0.5, CreatedAt: created, UpdatedAt: created}
	oneElement := func(t *testing.T, doc *goquery.Document, testid string) *goquery.Selection {
		t.Helper()
		top := doc.Find("body").Children()
		if top.Length() != 1 || top.AttrOr("data-testid", "") != testid {
			t.Fatalf("fragment has %d top-level elements, want one %s", top.Length(), testid)
		}
		return top
	}
	samePart := func(t *testing.T, page, fragment *goquery.Document, testid string) {
		t.Helper()
		want, _ := goquery.OuterHtml(page.Find(`[data-testid="` + testid + `"]`))
		got, _ := goquery.OuterHtml(fragment.Find(`[data-testid="` + testid + `"]`))
		if got != want {
			t.Errorf("%s fragment differs from the page's:\n got %s\nwant %s", testid, got, want)
		}
	}
	t.Run("Row", func(t *testing.T) {
		doc, _ := render(t, JobRow(completedJob()))
		row := oneElement(t, doc, "job-row")
		if got, want := row.AttrOr("data-job-id", ""), "j1"; got != want {
			t.Errorf("row keyed %q, want %q", got, want)
		}
		checkDownloads(t, row, completedJob())
		page, _ := render(t, HomePage(HomeModel{Layout: signedIn, Jobs: []Job{completedJob()}}))
		samePart(t, page, doc, "job-row")
	})
	t.Run("PanelRunning", func(t *testing.T) {
		doc, _ := render(t, JobPanel(running))
		panel := oneElement(t, doc, "job-panel")
		if got, want := panel.Find(`[data-testid="job-status"]`).AttrOr("aria-live", ""), "polite"; got != want {
			t.Errorf("status aria-live = %q, want %q", got, want)
		}
		if got, want := panel.Find(`[data-testid="job-percent"]`).Text(), "50%"; got != want {
			t.Errorf("percent = %q, want %q", got, want)
		}
		if panel.Find(`[data-testid="eta"]`).Length() != 1 {
			t.Errorf("a running job's panel has no eta")
		}
		page, _ := render(t, JobPage(JobModel{Layout: signedIn, Job: running}))
		samePart(t, page, doc, "job-panel")
	})
	t.Run("PanelFinal", func(t *testing.T) {
		doc, _ := render(t, JobPanel(completedJob()))
		if got, want := byTestID(doc, "elapsed").Text(), "Took 0:42"; got != want {
			t.Errorf("elapsed = %q, want %q", got, want)
		}
		if byTestID(doc, "eta").Length() != 0 {
			t.Errorf("a finished job's panel has an eta")
		}
	})
	t.Run("BodyCompleted", func(t *testing.T) {
		tr := Transcript{Segments: []Segment{{Start: 0, End: 2, Text: "hello"}}, Text: "hello"}
		doc, _ := render(t, JobBody(completedJob(), tr))
		body := oneElement(t, doc, "job-body")
		if got, want := body.Find(`[data-testid="segment"]`).Length(), 1; got != want {
			t.Errorf("segments = %d, want %d", got, want)
		}
		if body.Find(`[data-testid="player"]`).Length() != 1 {
			t.Errorf("no player")
		}
		checkDownloads(t, body, completedJob())
		page, _ := render(t, JobPage(JobModel{Layout: signedIn, Job: completedJob(), Transcript: tr}))
		samePart(t, page, doc, "job-body")
	})
	t.Run("BodyFailed", func(t *testing.T) {
		j := Job{ID: "j9", Filename: "x.mp3", Name: "x.mp3", Status: "failed", Error: "No sound."}
		doc, _ := render(t, JobBody(j, Transcript{}))
		if got, want := strings.TrimSpace(byTestID(doc, "job-error").Text()), "No sound."; got != want {
			t.Errorf("job-error = %q, want %q", got, want)
		}
		if byTestID(doc, "retry").Length() != 1 {
			t.Errorf("no retry")
		}
	})
	t.Run("BodyRunning", func(t *testing.T) {
		doc, _ := render(t, JobBody(running, Transcript{}))
		if byTestID(doc, "job-waiting").Length() != 1 || byTestID(doc, "player").Length() != 0 {
			t.Errorf("a running job's body should only say it is waiting")
		}
	})
}

func TestTranscriptWords(t *testing.T) {
	tr := Transcript{ETag: `"rev-7"`, Text: "Hello, world. Hi.", Segments: []Segment{
		{Start: 0, End: 2, Text: "Hello, world.", Speaker: "Ada",
			Words: []Word{{Text: "Hello,", Start: 0.25, End: 0.75}, {Text: "world.", Start: 1, End: 1.5}}},
		{Start: 3, End: 4, Text: "Hi.", Speaker: "Grace"},
		{Start: 5, End: 6, Text: "Bye.", Speaker: "Ada"},
	}}
	doc, _ := render(t, JobPage(JobModel{Layout: signedIn, Job: completedJob(), Transcript: tr}))
	t.Run("WordsCarryTimes", func(t *testing.T) {
		words := byTestID(doc, "segment").Eq(0).Find(".word")
		if got, want := words.Length(), 2; got != want {
			t.Fatalf("words = %d, want %d", got, want)
		}
		if got, want := words.Eq(1).AttrOr("data-start", "")+"-"+words.Eq(1).AttrOr("data-end", ""), "1.000-1.500"; got != want {
			t.Errorf("second word times = %q, want %q", got, want)
		}
		if got, want := byTestID(doc, "segment").Eq(0).Find(`[data-testid="segment-text"]`).Text(), "Hello, world."; got != want {
			t.Errorf("segment text = %q, want %q", got, want)
		}
	})
	t.Run("NoWordsOneSpan", func(t *testing.T) {
		second := byTestID(doc, "segment").Eq(1)
		if got := second.Find(".word").Length(); got != 0 {
			t.Errorf("a segment without word timings has %d word spans", got)
		}
		if got, want := second.Find(`[data-testid="segment-text"]`).Text(), "Hi."; got != want {
			t.Errorf("segment text = %q, want %q", got, want)
		}
	})
	t.Run("SpeakerLabels", func(t *testing.T) {
		var got []string
		byTestID(doc, "segment-speaker").Each(func(_ int, s *goquery.Selection) { got = append(got, s.Text()) })
		if want := []string{"Ada", "Grace", "Ada"}; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("speaker labels = %q, want %q", got, want)
		}
	})
	t.Run("EditorSpeakers", func(t *testing.T) {
		inputs := byTestID(doc, "speaker-name")
		var got []string
		inputs.Each(func(_ int, s *goquery.Selection) {
			got = append(got, s.AttrOr("data-speaker", "")+"="+s.AttrOr("value", ""))
			if s.Closest("label").Length() != 1 {
				t.Errorf("speaker input %q has no label", s.AttrOr("data-speaker", ""))
			}
		})
		if want := "Ada=Ada,Grace=Grace"; strings.Join(got, ",") != want {
			t.Errorf("speaker inputs = %q, want %s (one per distinct speaker)", got, want)
		}
		if _, hidden := byTestID(doc, "editor").Attr("hidden"); !hidden {
			t.Errorf("the editor shows without JavaScript")
		}
		if got, want := byTestID(doc, "conflict").AttrOr("role", ""), "alert"; got != want {
			t.Errorf("conflict role = %q, want %q", got, want)
		}
	})
	t.Run("ETag", func(t *testing.T) {
		view := byTestID(doc, "transcript-view")
		if got, want := view.AttrOr("data-etag", ""), `"rev-7"`; got != want {
			t.Errorf("data-etag = %q, want %q", got, want)
		}
		if got, want := view.AttrOr("data-json", ""), "/jobs/j1/transcript.json"; got != want {
			t.Errorf("data-json = %q, want %q", got, want)
		}
		if byTestID(doc, "edit-transcript").Length() != 1 {
			t.Errorf("no edit button")
		}
	})
	t.Run("Shortcuts", func(t *testing.T) {
		var got []string
		byTestID(doc, "shortcuts").Find("dt").Each(func(_ int, s *goquery.Selection) { got = append(got, s.Text()) })
		if want := "Alt+K,Alt+J,Alt+L,Alt+,,Alt+."; strings.Join(got, ",") != want {
			t.Errorf("shortcuts = %q, want %s", got, want)
		}
		if got, want := byTestID(doc, "playback-rate").Find("option[selected]").AttrOr("value", ""), "1"; got != want {
			t.Errorf("selected speed = %q, want %q", got, want)
		}
		if got := byTestID(doc, "playback-rate").Closest("label").Length(); got != 1 {
			t.Errorf("the speed select has no label")
		}
	})
	t.Run("ConnectionStatus", func(t *testing.T) {
		status := byTestID(doc, "connection-status")
		if status.AttrOr("role", "") != "status" || strings.TrimSpace(status.Text()) != "" {
			t.Errorf("connection status = role %q text %q, want an empty role=status", status.AttrOr("role", ""), status.Text())
		}
	})
}

func TestTranscriptSpeakersNone(t *testing.T) {
	doc, _ := render(t, JobBody(completedJob(), Transcript{Segments: []Segment{{Start: 0, End: 1, Text: "hi"}}, Text: "hi"}))
	if n := byTestID(doc, "speakers").Length() + byTestID(doc, "segment-speaker").Length(); n != 0 {
		t.Errorf("a transcript without speakers shows %d speaker elements", n)
	}
}
