package deepscript

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestUnreachable follows the upstream going away and coming back.
func TestUnreachable(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(`{"data":[]}`))
	}))
	c := New(srv.URL, "key", nil)
	ctx := context.Background()
	check := func(name string, want bool) {
		t.Helper()
		c.ListWebhooks(ctx)
		if got, since := c.Unreachable(); got != want || (got && since.IsZero()) {
			t.Fatalf("%s: unreachable %v since %v, want %v", name, got, since, want)
		}
	}
	check("Up", false)
	status = http.StatusServiceUnavailable
	check("ServiceUnavailable", true)
	status = http.StatusUnauthorized
	check("AnswersEvenIfRefusing", false)
	srv.Close()
	check("Gone", true)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	c2 := New("http://127.0.0.1:1", "key", nil)
	c2.ListWebhooks(cancelled)
	if down, _ := c2.Unreachable(); down {
		t.Fatal("a call we cancelled marked the upstream unreachable")
	}
}
