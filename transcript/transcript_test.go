package transcript

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"scribe/job"
)

var sample = &job.Result{
	Text: "hello world again", Duration: 3725.5,
	Segments: []job.Segment{
		{Start: 0.5, End: 1.25, Text: "hello world", Words: []job.Word{{Word: "hello", Start: 0.5, End: 0.9}}},
		{Start: 3723.0, End: 3725.004, Text: "again --> later"},
	},
}

func render(t *testing.T, ext string, r *job.Result) string {
	t.Helper()
	f, ok := ByExt(ext)
	if !ok {
		t.Fatalf("no format %q", ext)
	}
	var b bytes.Buffer
	if err := f.Write(&b, r, Meta{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestFormatList(t *testing.T) {
	var exts []string
	for _, f := range All {
		exts = append(exts, f.Ext)
		if f.ContentType == "" || f.Label == "" || f.Write == nil {
			t.Errorf("format %q is incomplete: %+v", f.Ext, f)
		}
		if got, ok := ByExt(f.Ext); !ok || got.Label != f.Label {
			t.Errorf("ByExt(%q) = %+v, %v", f.Ext, got, ok)
		}
	}
	if got, want := strings.Join(exts, " "), "txt srt vtt json"; got != want {
		t.Errorf("formats in order %q, want %q", got, want)
	}
	for _, ext := range []string{"", "SRT", ".srt", "mp3"} {
		if _, ok := ByExt(ext); ok {
			t.Errorf("ByExt(%q) found a format", ext)
		}
	}
}

func TestFormats(t *testing.T) {
	t.Run("Text", func(t *testing.T) {
		if got, want := render(t, "txt", sample), "hello world\nagain --> later\n"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("TextOneLinePerSegment", func(t *testing.T) {
		r := &job.Result{Segments: []job.Segment{
			{Text: "two\n\nlines"}, {Text: " "}, {Words: []job.Word{{Word: "only"}, {Word: "words"}}},
		}}
		if got, want := render(t, "txt", r), "two lines\nonly words\n"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("SRT", func(t *testing.T) {
		want := "1\n00:00:00,500 --> 00:00:01,500\nhello world\n\n2\n01:02:03,000 --> 01:02:05,004\nagain → later\n\n"
		if got := render(t, "srt", sample); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("VTT", func(t *testing.T) {
		want := "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nhello world\n\n01:02:03.000 --> 01:02:05.004\nagain → later\n\n"
		if got := render(t, "vtt", sample); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("NoSegments", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteSRT(&b, &job.Result{Text: "only text", Duration: 2}); err != nil {
			t.Fatal(err)
		}
		if got, want := b.String(), "1\n00:00:00,000 --> 00:00:02,000\nonly text\n\n"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

// TestEmpty checks that a transcript with nothing to show gives a valid
// file in every EmptyOK format and ErrEmpty, with nothing written, in the
// others.
func TestEmpty(t *testing.T) {
	valid := map[string]func(string) bool{
		"txt":  func(body string) bool { return body == "" },
		"vtt":  func(body string) bool { return body == "WEBVTT\n\n" },
		"json": func(body string) bool { return json.Valid([]byte(body)) && strings.Contains(body, `"segments": [`) },
	}
	for _, c := range []struct {
		name string
		r    *job.Result
	}{
		{"Zero", &job.Result{}},
		{"BlankText", &job.Result{Text: " \n\n\t", Duration: 4}},
		{"BlankSegments", &job.Result{Duration: 2, Segments: []job.Segment{{Start: 0, End: 1, Text: "\n\n"}, {Start: 1, End: 2}}}},
		{"BlankWords", &job.Result{Segments: []job.Segment{{Start: 0, End: 1, Words: []job.Word{{Word: " "}, {Word: "\x00"}}}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !Empty(c.r) {
				t.Errorf("Empty(%+v) = false", c.r)
			}
			for _, f := range All {
				var b bytes.Buffer
				err := f.Write(&b, c.r, Meta{})
				if f.EmptyOK {
					if err != nil || !valid[f.Ext](b.String()) {
						t.Errorf("%s: %q, %v; want a valid empty file", f.Ext, b.String(), err)
					}
				} else if !errors.Is(err, ErrEmpty) || b.Len() > 0 {
					t.Errorf("%s: %q, %v; want nothing and ErrEmpty", f.Ext, b.String(), err)
				}
			}
		})
	}
	t.Run("NotEmpty", func(t *testing.T) {
		for _, r := range []*job.Result{
			sample,
			{Text: "only text"},
			{Segments: []job.Segment{{Words: []job.Word{{Word: "word"}}}}},
		} {
			var b bytes.Buffer
			if Empty(r) || WriteSRT(&b, r) != nil {
				t.Errorf("%+v is empty", r)
			}
		}
	})
}

// jsonDoc is what a script reading the JSON download sees.
type jsonDoc struct {
	Meta
	job.Result
}

func TestJSON(t *testing.T) {
	r := &job.Result{Text: "hi there", Language: "en", Duration: 12.3456789,
		Segments: []job.Segment{
			{Start: 6.619999999999999, End: 7.0004, Text: "hi there", Words: []job.Word{
				{Word: "hi", Start: 6.619999999999999, End: 6.8005, Confidence: 0.87654321},
				{Word: "there", Start: math.NaN(), End: 1e308, Confidence: math.Inf(1)},
			}},
			{Start: 8, End: 9, Text: "no words"},
		}}
	var b bytes.Buffer
	m := Meta{JobID: "j_42", Filename: "talk.mp3", Engine: "embedded"}
	if err := WriteJSON(&b, r, m); err != nil {
		t.Fatal(err)
	}
	body := b.String()
	var got jsonDoc
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	if got.Meta != m {
		t.Errorf("meta %+v, want %+v", got.Meta, m)
	}
	if got, want := got.Language, "en"; got != want {
		t.Errorf("language %q, want %q", got, want)
	}
	if got, want := got.Text, r.Text; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if strings.Contains(body, "6.6199") || strings.Contains(body, "12.3456") {
		t.Errorf("times not rounded to the millisecond: %s", body)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"duration", got.Duration, 12.346},
		{"segment start", got.Segments[0].Start, 6.62},
		{"segment end", got.Segments[0].End, 7},
		{"word start", got.Segments[0].Words[0].Start, 6.62},
		{"word end", got.Segments[0].Words[0].End, 6.801},
		{"word confidence", got.Segments[0].Words[0].Confidence, 0.87654321},
		{"NaN start", got.Segments[0].Words[1].Start, 0},
		{"huge end", got.Segments[0].Words[1].End, 1e308},
		{"infinite confidence", got.Segments[0].Words[1].Confidence, 0},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !strings.Contains(body, `"words": []`) {
		t.Errorf("a segment without words has no empty list: %s", body)
	}
	if got := render(t, "json", &job.Result{}); !strings.Contains(got, `"segments": []`) {
		t.Errorf("an empty result has no empty segment list: %s", got)
	}
}

// BenchmarkFormats renders an hour-long transcript (1200 segments) in each format.
func BenchmarkFormats(b *testing.B) {
	long := &job.Result{Duration: 3600}
	for i := range 1200 {
		long.Segments = append(long.Segments, job.Segment{Start: float64(i) * 3, End: float64(i)*3 + 2.5,
			Text: "the quick brown fox jumps over the lazy dog"})
	}
	for _, f := range All {
		b.Run(f.Ext, func(b *testing.B) {
			var buf bytes.Buffer
			for range b.N {
				buf.Reset()
				if err := f.Write(&buf, long, Meta{}); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(buf.Len()))
		})
	}
}
