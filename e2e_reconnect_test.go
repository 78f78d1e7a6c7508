package main

import (
	"net/url"
	"testing"
	"time"
)

// TestBrowserReconnectNotice stops the app under an open page and starts it
// again on the same address: the page says its connection is lost while
// its EventSource retries, and stops saying so once it is open again.
func TestBrowserReconnectNotice(t *testing.T) {
	dir := t.TempDir()
	app := startApp(t, map[string]string{"SCRIBE_DATA_DIR": dir})
	b := newBrowser(t, app.URL)
	b.signUp("ada@example.com", "correct horse battery")
	notice := `document.querySelector('[data-testid="connection-status"]').textContent`
	if got := eval[string](b, notice); got != "" {
		b.fail("connection notice %q before anything went wrong", got)
	}
	app.Stop()
	b.waitFor("the connection notice", notice+` === 'Connection lost — retrying…'`, 15*time.Second)
	if got := eval[string](b, `document.querySelector('[data-testid="connection-status"]').getAttribute('role')`); got != "status" {
		b.fail("connection notice role %q, want status", got)
	}
	b.screenshot(t.Name())
	u, err := url.Parse(app.URL)
	if err != nil {
		t.Fatal(err)
	}
	again := startApp(t, map[string]string{"SCRIBE_DATA_DIR": dir, "SCRIBE_ADDR": u.Host})
	if again.URL != app.URL {
		t.Fatalf("restarted on %s, want %s", again.URL, app.URL)
	}
	b.waitFor("the notice to clear once reconnected", notice+` === ''`, 20*time.Second)
	// Close the stream before the app stops at cleanup.
	b.open("/healthz")
}
