package handlers

import (
	"reflect"
	"testing"

	"scribe/job"
	"scribe/views"
)

// TestViewWords checks that the page shows a segment's text as written,
// each word with its recognised timing, and no word timings when the two
// do not line up.
func TestViewWords(t *testing.T) {
	words := []job.Word{{Word: "hello", Start: 0.5, End: 0.9, Confidence: 0.8}, {Word: "world", Start: 1, End: 1.4, Confidence: 0.7}}
	t.Run("Matching", func(t *testing.T) {
		got := viewWords(job.Segment{Text: "Hello, world!", Words: words})
		want := []views.Word{{Text: "Hello,", Start: 0.5, End: 0.9}, {Text: "world!", Start: 1, End: 1.4}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("words %+v, want %+v", got, want)
		}
	})
	t.Run("Mismatched", func(t *testing.T) {
		if got := viewWords(job.Segment{Text: "Hello there, world", Words: words}); got != nil {
			t.Errorf("words %+v for a text of three words and two timings, want none", got)
		}
	})
	t.Run("None", func(t *testing.T) {
		if got := viewWords(job.Segment{Text: "Hello"}); got != nil {
			t.Errorf("words %+v without timings, want none", got)
		}
	})
}
