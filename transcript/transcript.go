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
//
// A transcript with no words to show gives an empty text file, a WebVTT
// file with only its header and JSON with no segments, but no SRT: SubRip
// cannot say "no cues" (players and ffmpeg reject an empty file) and a
// placeholder cue would show words nobody said. WriteSRT returns ErrEmpty
// instead, for the download handler to answer 409 with a message, and
// pages can leave out formats that are not EmptyOK when Empty says so.
package transcript

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"scribe/job"
)

// Format is a download format.
type Format struct {
	Ext         string // file extension without the dot
	ContentType string
	Label       string // what pages call the download
	EmptyOK     bool   // Write makes a valid file of an Empty transcript; if not it returns ErrEmpty
	Write       func(w io.Writer, r *job.Result, m Meta) error
}

// ErrEmpty reports a transcript with no words to show in a format that
// cannot be empty.
var ErrEmpty = errors.New("transcript: no speech to put in subtitles")

// Empty reports whether r has no words to show, so that the formats that
// are not EmptyOK cannot be written.
func Empty(r *job.Result) bool { return len(tokens(r)) == 0 }

// Meta is what the JSON download says about the job besides its result.
type Meta struct {
	JobID    string `json:"job_id"`
	Filename string `json:"filename"`
	Engine   string `json:"engine"`
}

// All are the downloads offered for every completed job, in the order pages
// list them.
var All = []Format{
	{Ext: "txt", ContentType: "text/plain; charset=utf-8", Label: "Plain text", EmptyOK: true, Write: withoutMeta(WriteText)},
	{Ext: "srt", ContentType: "application/x-subrip; charset=utf-8", Label: "Subtitles (SRT)", Write: withoutMeta(WriteSRT)},
	{Ext: "vtt", ContentType: "text/vtt; charset=utf-8", Label: "Subtitles (WebVTT)", EmptyOK: true, Write: withoutMeta(WriteVTT)},
	{Ext: "json", ContentType: "application/json", Label: "JSON with timings", EmptyOK: true, Write: WriteJSON},
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
func withoutMeta(write func(io.Writer, *job.Result) error) func(io.Writer, *job.Result, Meta) error {
	return func(w io.Writer, r *job.Result, _ Meta) error { return write(w, r) }
}

// WriteText writes the transcript one segment per line, or nothing when
// it is empty.
func WriteText(w io.Writer, r *job.Result) error {
	var b strings.Builder
	for _, s := range r.Segments {
		if line := job.OneLine(segmentText(s)); line != "" {
			b.WriteString(line + "\n")
		}
	}
	if line := job.OneLine(r.Text); b.Len() == 0 && line != "" {
		b.WriteString(line + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSRT writes numbered SubRip cues, or returns ErrEmpty when there is
// nothing to show.
func WriteSRT(w io.Writer, r *job.Result) error {
	cs := cues(tokens(r))
	if len(cs) == 0 {
		return ErrEmpty
	}
	for i, c := range cs {
		_, err := fmt.Fprintf(w, "%d\n%s --> %s\n%s\n\n", i+1, timestamp(c.start, ','), timestamp(c.end, ','), strings.Join(c.lines, "\n"))
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
