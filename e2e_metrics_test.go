package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"scribe/deepscript/deepscripttest"
)

// TestMetricsListener boots the app with SCRIBE_METRICS_ADDR and checks
// that the metrics are on that address alone: the public listener's
// /metrics is a 404, and the metrics listener serves nothing else.
func TestMetricsListener(t *testing.T) {
	// A free port, as run prints only the public listener's address in a
	// line the helper reads.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := probe.Addr().String()
	probe.Close()
	app := startApp(t, mergeEnv(fakeEnv(deepscripttest.NewServer(t)), map[string]string{"SCRIBE_METRICS_ADDR": metricsAddr}))

	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get("http://" + metricsAddr + "/metrics"); status != http.StatusOK || !strings.Contains(body, "scribe_browser_streams") {
		t.Fatalf("metrics listener: status %d, body %.300s", status, body)
	}
	if status, _ := get(app.URL + "/metrics"); status != http.StatusNotFound {
		t.Fatalf("public /metrics: status %d, want 404", status)
	}
	if status, _ := get("http://" + metricsAddr + "/login"); status != http.StatusNotFound {
		t.Fatalf("metrics listener /login: status %d, want 404", status)
	}
	app.Stop()
	if _, err := http.Get("http://" + metricsAddr + "/metrics"); err == nil {
		t.Fatal("the metrics listener still answers after shutdown")
	}
}
