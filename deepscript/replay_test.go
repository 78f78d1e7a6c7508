package deepscript

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReplayedCreateWithLargeResult: a create replayed after the job
// finished answers with its result, which may be several MiB; the client
// must take it, or the submitter would upload the file again and again.
func TestReplayedCreateWithLargeResult(t *testing.T) {
	words := strings.Repeat("word ", 600_000) // about 3 MiB of text
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(Transcription{ID: "tr_1", Status: StatusCompleted, Progress: 1,
			Result: &Result{Text: words, Segments: []Segment{{Start: 0, End: 1, Text: words}}}})
	}))
	defer srv.Close()
	c := New(srv.URL, "key", nil)
	tr, err := c.CreateTranscription(t.Context(), CreateRequest{File: strings.NewReader("RIFF"), Filename: "a.wav", IdempotencyKey: "j_1"})
	if err != nil {
		t.Fatalf("CreateTranscription: %v", err)
	}
	if tr.Result == nil || len(tr.Result.Text) != len(words) {
		t.Fatal("the replayed create's result was not read whole")
	}
}
