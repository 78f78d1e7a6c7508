package transcript

import (
	"bytes"
	"encoding/json"
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

func render(t *testing.T, ext string) string {
	t.Helper()
	var b bytes.Buffer
	if err := Formats[ext].Write(&b, sample); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestFormats(t *testing.T) {
	t.Run("Text", func(t *testing.T) {
		if got, want := render(t, "txt"), "hello world\nagain --> later\n"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("SRT", func(t *testing.T) {
		want := "1\n00:00:00,500 --> 00:00:01,250\nhello world\n\n2\n01:02:03,000 --> 01:02:05,004\nagain --> later\n\n"
		if got := render(t, "srt"); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("VTT", func(t *testing.T) {
		want := "WEBVTT\n\n00:00:00.500 --> 00:00:01.250\nhello world\n\n01:02:03.000 --> 01:02:05.004\nagain -> later\n\n"
		if got := render(t, "vtt"); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		var back job.Result
		if err := json.Unmarshal([]byte(render(t, "json")), &back); err != nil {
			t.Fatal(err)
		}
		if len(back.Segments) != 2 || back.Segments[0].Words[0].Word != "hello" {
			t.Fatalf("round trip lost data: %+v", back)
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

// BenchmarkFormats renders an hour-long transcript (1200 segments) in each format.
func BenchmarkFormats(b *testing.B) {
	long := &job.Result{Duration: 3600}
	for i := range 1200 {
		long.Segments = append(long.Segments, job.Segment{Start: float64(i) * 3, End: float64(i)*3 + 2.5,
			Text: "the quick brown fox jumps over the lazy dog"})
	}
	for _, ext := range []string{"txt", "srt", "vtt", "json"} {
		b.Run(ext, func(b *testing.B) {
			var buf bytes.Buffer
			for range b.N {
				buf.Reset()
				if err := Formats[ext].Write(&buf, long); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(buf.Len()))
		})
	}
}
