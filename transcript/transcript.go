// Package transcript renders a finished transcription as plain text, SRT
// subtitles, WebVTT subtitles or JSON.
//
// Subtitles follow broadcast conventions: cues are cut from word timings
// (a segment without words has its text spread evenly over its span) into
// at most two lines of 42 characters, on screen for 1 to 7 seconds,
// breaking after sentences, at pauses and after commas rather than in the
// middle of a phrase, and never across a long pause between segments. Cue
// text cannot break the file's framing, and every timestamp is on the clock
// (0 to 99:59:59.999) whatever the upstream sent.
package transcript

import (
	"fmt"
	"io"
	"math"
	"strings"

	"scribe/deepscript"
)

// Format is a download format.
type Format struct {
	Ext         string // file extension without the dot
	ContentType string
	Label       string // what pages call the download
	Write       func(w io.Writer, r *deepscript.Result, m Meta) error
}

// Meta is what the JSON download says about the job besides its result.
type Meta struct {
	JobID    string `json:"job_id"`
	Filename string `json:"filename"`
	Engine   string `json:"engine"`
}

// All are the downloads offered for every completed job, in the order pages
// list them.
var All = []Format{
	{"txt", "text/plain; charset=utf-8", "Plain text", withoutMeta(WriteText)},
	{"srt", "application/x-subrip; charset=utf-8", "Subtitles (SRT)", withoutMeta(WriteSRT)},
	{"vtt", "text/vtt; charset=utf-8", "Subtitles (WebVTT)", withoutMeta(WriteVTT)},
	{"json", "application/json", "JSON with timings", WriteJSON},
}

// ByExt finds the format with the extension ext ("srt", no dot).
func ByExt(ext string) (Format, bool) {
	for _, f := range All {
		if f.Ext == ext {
			return f, true
		}
	}
	return Format{}, false
}

// withoutMeta adapts a writer that has no use for Meta to Format.Write.
func withoutMeta(write func(io.Writer, *deepscript.Result) error) func(io.Writer, *deepscript.Result, Meta) error {
	return func(w io.Writer, r *deepscript.Result, _ Meta) error { return write(w, r) }
}

// LegacyFormat is a Format whose Write takes no Meta.
//
// Deprecated: use Format.
type LegacyFormat struct {
	ContentType string
	Write       func(w io.Writer, r *deepscript.Result) error
}

// Formats indexes All by extension for callers that have no Meta to give;
// their JSON leaves job_id, filename and engine empty.
//
// Deprecated: use ByExt and Format.Write. Formats goes once the download
// handler does.
var Formats = legacyFormats()

func legacyFormats() map[string]LegacyFormat {
	m := make(map[string]LegacyFormat, len(All))
	for _, f := range All {
		m[f.Ext] = LegacyFormat{f.ContentType, func(w io.Writer, r *deepscript.Result) error { return f.Write(w, r, Meta{}) }}
	}
	return m
}

// WriteText writes the transcript one segment per line.
func WriteText(w io.Writer, r *deepscript.Result) error {
	if len(r.Segments) == 0 {
		_, err := fmt.Fprintln(w, strings.TrimSpace(r.Text))
		return err
	}
	for _, s := range r.Segments {
		if _, err := fmt.Fprintln(w, strings.TrimSpace(s.Text)); err != nil {
			return err
		}
	}
	return nil
}

// WriteSRT writes numbered SubRip cues.
func WriteSRT(w io.Writer, r *deepscript.Result) error {
	for i, c := range cues(tokens(r)) {
		_, err := fmt.Fprintf(w, "%d\n%s --> %s\n%s\n\n", i+1, timestamp(c.start, ','), timestamp(c.end, ','), strings.Join(c.lines, "\n"))
		if err != nil {
			return err
		}
	}
	return nil
}

// WriteVTT writes a WebVTT file.
func WriteVTT(w io.Writer, r *deepscript.Result) error {
	if _, err := io.WriteString(w, "WEBVTT\n\n"); err != nil {
		return err
	}
	for _, c := range cues(tokens(r)) {
		text := vttEscaper.Replace(strings.Join(c.lines, "\n"))
		if _, err := fmt.Fprintf(w, "%s --> %s\n%s\n\n", timestamp(c.start, '.'), timestamp(c.end, '.'), text); err != nil {
			return err
		}
	}
	return nil
}

// vttEscaper escapes what WebVTT cue text reserves for markup.
var vttEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// timestamp formats seconds as HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (VTT).
func timestamp(seconds float64, sep byte) string {
	ms := int64(math.Round(min(max(seconds, 0), maxSeconds) * 1000))
	return fmt.Sprintf("%02d:%02d:%02d%c%03d", ms/3600000, ms/60000%60, ms/1000%60, sep, ms%1000)
}
