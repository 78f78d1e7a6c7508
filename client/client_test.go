package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestJobsFollowsNext lists jobs across pages of GET /jobs, as the server
// pages them ({"jobs": [...], "next": path or null}), sending the token on
// every request.
func TestJobsFollowsNext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer scribe_t" || r.Header.Get("Accept") != "application/json" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.RequestURI() {
		case "/jobs":
			json.NewEncoder(w).Encode(map[string]any{"jobs": []Job{{ID: "j_3"}, {ID: "j_2"}}, "next": "/jobs?after=abc&limit=2"})
		case "/jobs?after=abc&limit=2":
			json.NewEncoder(w).Encode(map[string]any{"jobs": []Job{{ID: "j_1"}}, "next": nil})
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	jobs, err := New(srv.URL, "scribe_t").Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(jobs), 3; got != want || jobs[0].ID != "j_3" || jobs[2].ID != "j_1" {
		t.Fatalf("jobs %+v, want j_3, j_2, j_1", jobs)
	}
	if _, err := New(srv.URL, "scribe_bad").Jobs(context.Background()); statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("bad token: %v, want a 401", err)
	}
}

// TestExitCodes maps each kind of failure to its documented exit status.
func TestExitCodes(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want int
	}{
		"Unauthorized": {&APIError{Status: 401}, ExitAuth},
		"Forbidden":    {&APIError{Status: 403}, ExitAuth},
		"NotFound":     {&APIError{Status: 404}, ExitNotFound},
		"NotAudio":     {&APIError{Status: 415}, ExitFailed},
		"TooLarge":     {&APIError{Status: 413}, ExitFailed},
		"Busy":         {&APIError{Status: 503}, ExitServer},
		"Throttled":    {&APIError{Status: 429}, ExitServer},
	} {
		t.Run(name, func(t *testing.T) {
			if got := exitError(tc.err).(*ExitError).ExitCode(); got != tc.want {
				t.Fatalf("exit %d, want %d", got, tc.want)
			}
		})
	}
	_, err := New("http://127.0.0.1:1", "scribe_t").Job(context.Background(), "j_1")
	if got := exitError(err).(*ExitError).ExitCode(); got != ExitServer {
		t.Fatalf("unreachable server: exit %d, want %d (%v)", got, ExitServer, err)
	}
}
