package handlers

import (
	"bytes"
	"context"
	"net/http"

	"github.com/a-h/templ"

	"scribe/eventstream"
	"scribe/job"
	"scribe/views"
)

// The pages ask their event streams for ?view=html. Each change then comes
// as the markup to swap in, drawn by the same templ components as the page,
// instead of the job JSON that API clients read; the script only swaps it
// in. Every event still carries the job's seq as its id, so Last-Event-ID
// resumes an HTML stream as it does a JSON one.

// htmlView reports whether a stream was asked for rendered fragments.
func htmlView(r *http.Request) bool { return r.URL.Query().Get("view") == "html" }

// encodeRow is the job's row of the list page (event: row).
func (h *Handler) encodeRow(ctx context.Context, j job.Job) ([]byte, error) {
	return h.encodeFragments(ctx, j, fragment{"row", views.JobRow(viewJob(j))})
}

// encodePanel is the job page's status panel (event: panel) and, once the
// job has ended, what takes the waiting note's place: the transcript or
// the failure (event: body).
func (h *Handler) encodePanel(ctx context.Context, j job.Job) ([]byte, error) {
	v := viewJob(j)
	events := []fragment{{"panel", views.JobPanel(v)}}
	if j.Status.Final() {
		t, err := h.transcript(ctx, j)
		if err != nil {
			return nil, err
		}
		events = append(events, fragment{"body", views.JobBody(v, t)})
	}
	return h.encodeFragments(ctx, j, events...)
}

// fragment is a component sent as one named event.
type fragment struct {
	event string
	c     templ.Component
}

// encodeFragments renders components as events with the job's seq.
func (h *Handler) encodeFragments(ctx context.Context, j job.Job, events ...fragment) ([]byte, error) {
	var frames []byte
	for _, f := range events {
		var html bytes.Buffer
		if err := f.c.Render(ctx, &html); err != nil {
			h.Log.Error("handlers: unable to render a fragment", "event", f.event, "job_id", j.ID, "error", err)
			return nil, err
		}
		// A line break inside the HTML (a transcript's text) becomes a new
		// data line, which the browser joins back with LF.
		frames = append(frames, eventstream.Frame(j.Seq, f.event, html.Bytes())...)
	}
	return frames, nil
}
