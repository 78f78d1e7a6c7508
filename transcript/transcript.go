// Package transcript renders a finished transcription as plain text, SRT
// subtitles, WebVTT subtitles or JSON.
package transcript

import (
	"fmt"
	"io"
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
	for i, s := range cues(r) {
		_, err := fmt.Fprintf(w, "%d\n%s --> %s\n%s\n\n", i+1, timestamp(s.Start, ','), timestamp(s.End, ','), s.Text)
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
	for _, s := range cues(r) {
		// "-->" inside a cue would end it early.
		text := strings.ReplaceAll(s.Text, "-->", "->")
		if _, err := fmt.Fprintf(w, "%s --> %s\n%s\n\n", timestamp(s.Start, '.'), timestamp(s.End, '.'), text); err != nil {
			return err
		}
	}
	return nil
}

// cues are the segments with text, or one cue for the whole text when the
// upstream gave no segments.
func cues(r *deepscript.Result) []deepscript.Segment {
	var out []deepscript.Segment
	for _, s := range r.Segments {
		if s.Text = strings.TrimSpace(s.Text); s.Text != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 && strings.TrimSpace(r.Text) != "" {
		out = append(out, deepscript.Segment{Start: 0, End: r.Duration, Text: strings.TrimSpace(r.Text)})
	}
	return out
}

// timestamp formats seconds as HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (VTT).
func timestamp(seconds float64, sep byte) string {
	ms := int64(max(seconds, 0)*1000 + 0.5)
	return fmt.Sprintf("%02d:%02d:%02d%c%03d", ms/3600000, ms/60000%60, ms/1000%60, sep, ms%1000)
}
