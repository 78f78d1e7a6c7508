package transcript

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"scribe/job"
)

// TestFFmpegRoundTrip has the real ffmpeg (a test dependency, see the
// Makefile) copy each subtitle file: it must take the file without a
// warning and keep every cue with its times, and for plain text, its lines.
func TestFFmpegRoundTrip(t *testing.T) {
	long, _ := syntheticSpeech(8, 12*60)
	hostile := &job.Result{Duration: math.NaN(), Segments: []job.Segment{
		{Start: math.NaN(), End: 1e308, Text: "<b>bold</b> & Q&amp;A\n\n2\n00:00:01,000 --> 00:00:02,000\nnot a cue"},
		{Start: 3, End: 2, Text: "a-->b <i>x</i>"},
		{Start: 4, End: 5, Text: "\r\n\r\nWEBVTT\n\nNOTE this is not a note"},
	}}
	for _, c := range []struct {
		name     string
		r        *job.Result
		sameText bool // ffmpeg rewrites markup, so compare only plain text
	}{
		{"Long", long, true},
		{"Hostile", hostile, false},
	} {
		for _, ext := range []string{"srt", "vtt"} {
			t.Run(c.name+"/"+ext, func(t *testing.T) {
				body := render(t, ext, c.r)
				want := parseSubtitles(t, body, ext)
				dir := t.TempDir()
				in, out := filepath.Join(dir, "in."+ext), filepath.Join(dir, "out."+ext)
				if err := os.WriteFile(in, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-i", in, out)
				if msg, err := cmd.CombinedOutput(); err != nil || len(msg) > 0 {
					t.Fatalf("ffmpeg: %v\n%s", err, msg)
				}
				copied, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				got := readCopy(t, string(copied))
				if g, w := len(got), len(want); g != w {
					t.Fatalf("ffmpeg kept %d cues of %d", g, w)
				}
				for i := range got {
					if got[i].start != want[i].start || got[i].end != want[i].end {
						t.Errorf("cue %d: ffmpeg has %.3f → %.3f, want %.3f → %.3f", i+1, got[i].start, got[i].end, want[i].start, want[i].end)
					}
					if c.sameText && !slices.Equal(got[i].lines, want[i].lines) {
						t.Errorf("cue %d: ffmpeg has %q, want %q", i+1, got[i].lines, want[i].lines)
					}
				}
			})
		}
	}
}

// readCopy reads the cues of ffmpeg's output leniently: its WebVTT times
// leave out the hours, and its SRT ends lines inside a cue with CRLF.
func readCopy(t *testing.T, body string) []parsedCue {
	t.Helper()
	var out []parsedCue
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		from, to, ok := strings.Cut(lines[i], " --> ")
		if !ok {
			continue
		}
		c := parsedCue{start: seconds(t, from), end: seconds(t, to)}
		for i+1 < len(lines) && lines[i+1] != "" {
			i++
			c.lines = append(c.lines, lines[i])
		}
		out = append(out, c)
	}
	return out
}
