package main

import (
	"bufio"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestShutdownEndsStreams stops the app while browsers hold event streams:
// run must return promptly and leave no goroutine behind.
func TestShutdownEndsStreams(t *testing.T) {
	before := runtime.NumGoroutine()
	app := startApp(t, nil)
	c := newUser(t, app, "ada@example.com")
	var bodies []*http.Response
	for range 3 {
		resp, err := c.Get(app.URL + "/events")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, resp)
	}
	start := time.Now()
	app.Stop()
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("shutdown took %v with open streams", took)
	}
	for _, b := range bodies {
		b.Body.Close()
	}
	c.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after shutdown:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var b strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&b)
	return b.String()
}
