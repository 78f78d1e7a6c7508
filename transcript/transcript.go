// Package transcript renders a finished transcription as plain text, SRT
// subtitles, WebVTT subtitles or JSON.
package transcript

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"scribe/job"
)

// Format is a download format.
type Format struct {
	Ext         string // file extension without the dot
	ContentType string
	Write       func(w io.Writer, r *job.Result) error
}

// Formats are the downloads offered for every completed job, by extension.
var Formats = map[string]Format{
	"txt":  {"txt", "text/plain; charset=utf-8", WriteText},
	"srt":  {"srt", "application/x-subrip; charset=utf-8", WriteSRT},
	"vtt":  {"vtt", "text/vtt; charset=utf-8", WriteVTT},
	"json": {"json", "application/json", WriteJSON},
}

// WriteText writes the transcript one segment per line.
func WriteText(w io.Writer, r *job.Result) error {
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
func WriteSRT(w io.Writer, r *job.Result) error {
	for i, s := range cues(r) {
		_, err := fmt.Fprintf(w, "%d\n%s --> %s\n%s\n\n", i+1, timestamp(s.Start, ','), timestamp(s.End, ','), s.Text)
		if err != nil {
			return err
		}
	}
	return nil
}

// WriteVTT writes a WebVTT file.
func WriteVTT(w io.Writer, r *job.Result) error {
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

// WriteJSON writes the full result, with segments and word timings.
func WriteJSON(w io.Writer, r *job.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// cues are the segments with text, or one cue for the whole text when the
// upstream gave no segments.
func cues(r *job.Result) []job.Segment {
	var out []job.Segment
	for _, s := range r.Segments {
		if s.Text = strings.TrimSpace(s.Text); s.Text != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 && strings.TrimSpace(r.Text) != "" {
		out = append(out, job.Segment{Start: 0, End: r.Duration, Text: strings.TrimSpace(r.Text)})
	}
	return out
}

// timestamp formats seconds as HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (VTT).
func timestamp(seconds float64, sep byte) string {
	ms := int64(max(seconds, 0)*1000 + 0.5)
	return fmt.Sprintf("%02d:%02d:%02d%c%03d", ms/3600000, ms/60000%60, ms/1000%60, sep, ms%1000)
}
