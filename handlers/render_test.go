package handlers

import (
	"slices"
	"testing"

	"scribe/job"
	"scribe/transcript"
	"scribe/views"
)

// TestViewJobDownloads checks that the handlers, the one place that lists
// downloads, give a completed job every transcript format once, in the
// pages' order, and give an unfinished job none.
func TestViewJobDownloads(t *testing.T) {
	t.Run("Completed", func(t *testing.T) {
		got := viewJob(job.Job{ID: "a/b", Status: job.StatusCompleted}).Downloads
		var exts []string
		for _, d := range got {
			exts = append(exts, d.Ext)
			f, _ := transcript.ByExt(d.Ext)
			want := views.Download{Label: f.Label,
				URL: "/jobs/a%2Fb/transcript." + d.Ext, Ext: d.Ext}
			if d != want {
				t.Errorf("download %+v, want %+v", d, want)
			}
		}
		if want := []string{"txt", "srt", "vtt", "json"}; !slices.Equal(exts, want) {
			t.Errorf("downloads %q, want %q", exts, want)
		}
		for _, f := range transcript.All {
			if !slices.Contains(exts, f.Ext) {
				t.Errorf("format %q is not offered", f.Ext)
			}
		}
	})
	t.Run("Processing", func(t *testing.T) {
		if got := viewJob(job.Job{ID: "j", Status: job.StatusProcessing}).Downloads; len(got) != 0 {
			t.Errorf("a running job offers %d downloads", len(got))
		}
	})
}
