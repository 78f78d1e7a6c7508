package lb

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func backend(t *testing.T, name string) (*httptest.Server, *url.URL) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name+" "+r.Host)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return srv, u
}

func get(t *testing.T, front string) string {
	t.Helper()
	resp, err := http.Get(front)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	return string(b)
}

func TestSpreadsAndSkipsADeadBackend(t *testing.T) {
	_, a := backend(t, "a")
	bsrv, b := backend(t, "b")
	front := httptest.NewServer(New(a, b))
	defer front.Close()
	host := front.Listener.Addr().String()
	seen := map[string]int{}
	for range 4 {
		seen[get(t, front.URL)]++
	}
	if seen["a "+host] != 2 || seen["b "+host] != 2 {
		t.Fatalf("4 requests went %v; want 2 to each, with the front's Host", seen)
	}
	bsrv.Close()
	for range 4 {
		if got := get(t, front.URL); got != "a "+host {
			t.Fatalf("with b down got %q", got)
		}
	}
}
