package handlers

import (
	"bytes"
	"context"
	"net/http"

	"github.com/a-h/templ"

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

// fragment is a component sent as one named event.
type fragment struct {
	event string
	c     templ.Component
}

// sendRow sends the job's row of the list page (event: row).
func (h *Handler) sendRow(ctx context.Context, s *eventStream, j job.Job) error {
	return h.sendFragments(ctx, s, j, fragment{"row", views.JobRow(viewJob(j))})
}

// sendPanel sends the job page's status panel (event: panel) and, once the
// job has ended, what takes the waiting note's place: the transcript or
// the failure (event: body).
func (h *Handler) sendPanel(ctx context.Context, s *eventStream, j job.Job) error {
	v := viewJob(j)
	events := []fragment{{"panel", views.JobPanel(v)}}
	if j.Status.Final() {
		t, err := h.transcript(ctx, j)
		if err != nil {
			return err
		}
		events = append(events, fragment{"body", views.JobBody(v, t)})
	}
	return h.sendFragments(ctx, s, j, events...)
}

// sendFragments writes a job's state as rendered events, unless a newer
// state of the job was already sent.
func (h *Handler) sendFragments(ctx context.Context, s *eventStream, j job.Job, events ...fragment) error {
	if j.Seq <= s.lastSent[j.ID] {
		return nil
	}
	s.lastSent[j.ID] = j.Seq
	for _, f := range events {
		var html bytes.Buffer
		if err := f.c.Render(ctx, &html); err != nil {
			h.Log.Error("handlers: unable to render a fragment", "event", f.event, "job_id", j.ID, "error", err)
			return err
		}
		// A line break inside the HTML (a transcript's text) becomes a new
		// data line, which the browser joins back with LF.
		if err := s.stream.Event(j.Seq, f.event, html.Bytes()); err != nil {
			return err
		}
	}
	return nil
}
