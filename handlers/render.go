package handlers

import (
	"bytes"
	"net/http"
	"net/url"
	"time"

	"github.com/a-h/templ"

	"scribe/job"
	"scribe/transcript"
	"scribe/views"
)

// balanceBannerFor is how long a balance.low warning stays on screen.
const balanceBannerFor = 24 * time.Hour

// render writes a page; it renders to a buffer first so a failure becomes
// an error page, not half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		h.Log.Error("handlers: unable to render page", "path", r.URL.Path, "error", err)
		http.Error(w, "Something went wrong on our side. Please try again.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	buf.WriteTo(w)
}

// layout fills the frame every page shares.
func (h *Handler) layout(w http.ResponseWriter, r *http.Request, title string) views.Layout {
	l := views.Layout{Title: title}
	if u, ok := h.currentUser(r); ok {
		l.UserEmail, l.Admin = u.Email, u.Admin
		l.Flash = h.takeFlash(w, r)
	}
	if at, err := h.Store.BalanceLowAt(r.Context()); err == nil && !at.IsZero() && h.Store.Now().Sub(at) < balanceBannerFor {
		l.BalanceLow = true
	}
	if down, since := h.Client.Unreachable(); down {
		l.UpstreamDownSince = since
	}
	return l
}

// viewJob converts a stored job for the pages.
func viewJob(j job.Job) views.Job {
	v := views.Job{ID: j.ID, Filename: j.Filename, Name: j.Name, Tags: j.Tags, SizeBytes: j.SizeBytes, Status: string(j.Status), Progress: j.Progress,
		Duration: j.Duration, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt, CompletedVia: string(j.CompletedVia), Error: j.Error}
	if j.Status == job.StatusCompleted {
		v.Downloads = downloads(j.ID)
	}
	return v
}

// downloads are a completed job's transcript downloads, as its row and its
// page link them.
func downloads(jobID string) []views.Download {
	return downloadsAt("/jobs/" + url.PathEscape(jobID))
}

// downloadsAt are the transcript downloads under the path base.
func downloadsAt(base string) []views.Download {
	out := make([]views.Download, 0, len(transcript.All))
	for _, f := range transcript.All {
		out = append(out, views.Download{Label: f.Label, Ext: f.Ext, URL: base + "/transcript." + f.Ext})
	}
	return out
}

// jobJSON is a job as the JSON API and the browser event streams show it.
type jobJSON struct {
	ID           string    `json:"id"`
	Filename     string    `json:"filename"`
	Name         string    `json:"name"`
	Tags         []string  `json:"tags"`
	SizeBytes    int64     `json:"size_bytes"`
	Status       string    `json:"status"`
	Progress     float64   `json:"progress"`
	Duration     float64   `json:"duration"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	CompletedVia *string   `json:"completed_via"`
	Error        *string   `json:"error"`
}

// JobJSON is a job as GET /jobs/{id} answers it in JSON; outgoing
// webhooks carry it as their data.
func JobJSON(j job.Job) any { return toJSON(j) }

func toJSON(j job.Job) jobJSON {
	out := jobJSON{ID: j.ID, Filename: j.Filename, Name: j.Name, Tags: j.Tags, SizeBytes: j.SizeBytes, Status: string(j.Status), Progress: j.Progress,
		Duration: j.Duration, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if j.CompletedVia != "" {
		via := string(j.CompletedVia)
		out.CompletedVia = &via
	}
	if j.Error != "" {
		out.Error = &j.Error
	}
	return out
}
