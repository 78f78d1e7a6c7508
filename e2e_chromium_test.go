package main

// A small driver of Debian's chromium through chromedp, for TestBrowser.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium.
const chromiumPath = "/usr/bin/chromium"

// browserTab is one tab of a browser, bound to the test that uses it.
type browserTab struct {
	t    *testing.T
	ctx  context.Context
	base string
	js   *jsLog
}

// jsLog keeps the page's uncaught exceptions and console errors, to show
// when a test fails.
type jsLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *jsLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

func (l *jsLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 0 {
		return "(none)"
	}
	return strings.Join(l.lines, "\n")
}

// listenJS records exceptions and console errors of the tab's pages.
func listenJS(t *testing.T, ctx context.Context) *jsLog {
	l := &jsLog{}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg = d.Exception.Description
			}
			l.add(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
				}
				l.add("console." + string(ev.Type) + ": " + strings.Join(parts, " "))
			}
		}
	})
	if err != nil {
		t.Fatalf("listen to the page: %v", err)
	}
	return l
}

// newBrowser starts Chromium for the test and returns a tab. Call it after
// starting the app: cleanups run in reverse, so the browser (and its open
// EventSources) closes before the app.
func newBrowser(t *testing.T, base string) *browserTab {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("no browser (.ci/run installs chromium): %v", err)
	}
	// Not t.TempDir: Chromium's helpers may still write in the profile for a
	// moment after it stops, and a failed RemoveAll would fail the test.
	dir, err := os.MkdirTemp("", "scribe-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("stop browser: %v", err)
		}
		cancel()
		cancelAlloc()
		for range 50 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	// The first run ties the browser's life to its context: no deadline here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start browser: %v", err)
	}
	return &browserTab{t: t, ctx: ctx, base: base, js: listenJS(t, ctx)}
}

// incognito opens a tab with its own cookies in the same browser, for a
// second user.
func (b *browserTab) incognito(t *testing.T) *browserTab {
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open incognito tab: %v", err)
	}
	return &browserTab{t: t, ctx: ctx, base: b.base, js: listenJS(t, ctx)}
}

// with returns the tab bound to a subtest, so failures land there.
func (b *browserTab) with(t *testing.T) *browserTab {
	return &browserTab{t: t, ctx: b.ctx, base: b.base, js: b.js}
}

// do runs steps with a deadline and fails the test if one fails.
func (b *browserTab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// eval evaluates JavaScript (awaiting a promise) and decodes the result.
func eval[T any](b *browserTab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds or the deadline
// passes, and then fails with what the page showed. A navigation while it
// polls (a form post, a reload) restarts the poll in the new document.
func (b *browserTab) waitFor(what, cond string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			b.fail("waiting for %s: still false after %v: %s", what, timeout, cond)
		}
		// Poll in short windows: a poll whose document a navigation
		// replaced may never answer, and the next window polls the new one.
		window := min(left, 2*time.Second)
		ctx, cancel := context.WithTimeout(b.ctx, window+5*time.Second)
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond,
			chromedp.WithPollingTimeout(window), chromedp.WithPollingInterval(50*time.Millisecond)))
		cancel()
		switch {
		case err == nil:
			return
		case errors.Is(err, chromedp.ErrPollingTimeout) || errors.Is(err, context.DeadlineExceeded) && b.ctx.Err() == nil:
		case navigatedAway(err) && b.ctx.Err() == nil:
			b.do("wait for the next page", chromedp.WaitReady(chromedp.CSS("body")))
		default:
			b.fail("waiting for %s (%s): %v", what, cond, err)
		}
	}
}

// navigatedAway reports whether a script failed because its document went
// away under it.
func navigatedAway(err error) bool {
	s := err.Error()
	return strings.Contains(s, "navigated or closed") || strings.Contains(s, "context was destroyed") ||
		strings.Contains(s, "Cannot find context")
}

// fail saves a screenshot and stops the test with the page's URL and text.
func (b *browserTab) fail(format string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	seen, _ := chromedp.Run(ctx, chromedp.Evaluate[string](
		`location.href + "\n" + (document.querySelector("main") || document.body || {innerText: ""}).innerText.slice(0, 2000)`))
	b.screenshot(b.t.Name() + "-failed")
	b.t.Fatalf(format+"\npage showed:\n%s\nscript errors:\n%s", append(args, seen, b.js)...)
}

// screenshot saves a PNG of the whole page under testdata/artifacts/ and
// returns its path.
func (b *browserTab) screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join("testdata", "artifacts", strings.NewReplacer("/", "_", " ", "_").Replace(name)+".png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}

// open navigates and waits for the page to load.
func (b *browserTab) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path))
}

// follow runs a step that navigates (a link, a form) and waits for the new
// page to load, so later queries see its document.
func (b *browserTab) follow(what string, step chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, step)
	if err != nil {
		b.fail("%s: %v", what, err)
	}
	if resp != nil && resp.Status >= 400 {
		b.fail("%s: status %d", what, resp.Status)
	}
}

// signUp creates an account and ends on the upload page.
func (b *browserTab) signUp(email, password string) {
	b.t.Helper()
	b.open("/signup")
	b.do("fill the sign-up form",
		chromedp.SetValue(chromedp.CSS(`[data-testid="email"]`), email),
		chromedp.SetValue(chromedp.CSS(`[data-testid="password"]`), password),
	)
	b.follow("submit the sign-up form", chromedp.Click(chromedp.CSS(`[data-testid="auth-submit"]`)))
	b.waitFor("the upload page after sign-up",
		`location.pathname === "/" && document.querySelector('[data-testid="upload-form"]') !== null`, 15*time.Second)
}

// addScript runs source in every document the tab opens from now on.
func (b *browserTab) addScript(source string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: source}); err != nil {
		b.t.Fatalf("add script: %v", err)
	}
}
