package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"scribe/job"
	"scribe/store"
	"scribe/views"
)

// maxSegmentFormBytes caps the edit form: a segment's text at its longest
// (job.MaxSegmentText characters of up to 4 bytes), form-encoded.
const maxSegmentFormBytes = 256 << 10

// showSegmentEdit is the form that edits one segment's text without
// JavaScript (GET /jobs/{id}/segments/{n}/edit, n from 1).
func (h *Handler) showSegmentEdit(w http.ResponseWriter, r *http.Request, u store.User) {
	j, cur, n, err := h.loadSegment(r, u)
	if err == nil && n > len(cur.Result.Segments) {
		err = job.ErrNotFound
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	seg := cur.Result.Segments[n-1]
	h.render(w, r, http.StatusOK, views.SegmentEditPage(views.SegmentEditModel{
		Layout: h.layout(w, r, fmt.Sprintf("Segment %d of %s", n, j.Name)), Job: viewJob(j),
		N: n, Start: seg.Start, End: seg.End, Text: seg.Text, ETag: revisionETag(cur.ID)}))
}

// editSegment saves the form's text as the segment's new text, in a new
// revision, and goes back to the job page. A form from an older revision
// changes nothing: the page comes back (412) with both texts and a form to
// save the user's over the current one.
func (h *Handler) editSegment(w http.ResponseWriter, r *http.Request, u store.User) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSegmentFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			err = job.Errorf(job.CodeInvalid, "The form could not be read; please try again.")
		}
		h.fail(w, r, err)
		return
	}
	j, cur, n, err := h.loadSegment(r, u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	text, etag := r.PostForm.Get("text"), r.PostForm.Get("etag")
	if etag == "" {
		h.fail(w, r, job.Errorf(job.CodeInvalid, "The form does not say which version it edits; please open the edit page again."))
		return
	}
	m := views.SegmentEditModel{Layout: h.layout(w, r, fmt.Sprintf("Segment %d of %s", n, j.Name)), Job: viewJob(j),
		N: n, Text: text, ETag: etag}
	if !ifMatch(etag, cur.ID) {
		h.staleSegment(w, r, m, cur)
		return
	}
	next, err := job.ReviseSegment(cur.Result, n, text)
	if job.ErrorCode(err) == job.CodeInvalid {
		seg := cur.Result.Segments[n-1]
		m.Start, m.End, m.Error = seg.Start, seg.End, job.ErrorMessage(err)
		h.render(w, r, http.StatusBadRequest, views.SegmentEditPage(m))
		return
	}
	if err == nil {
		_, err = h.Relay.Edit(r.Context(), u.ID, j.ID, cur.ID, next)
	}
	if errors.Is(err, job.ErrStale) {
		if cur, err = h.Store.CurrentRevision(r.Context(), j.ID); err == nil {
			h.staleSegment(w, r, m, cur)
			return
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(w, r, fmt.Sprintf("Saved segment %d.", n))
	http.Redirect(w, r, "/jobs/"+j.ID, http.StatusSeeOther)
}

// staleSegment answers 412 with the user's text in m and what the segment
// says in cur, ready to save the user's text over cur.
func (h *Handler) staleSegment(w http.ResponseWriter, r *http.Request, m views.SegmentEditModel, cur job.Revision) {
	m.Stale, m.ETag = true, revisionETag(cur.ID)
	if segs := cur.Result.Segments; m.N <= len(segs) {
		m.Start, m.End, m.CurrentText = segs[m.N-1].Start, segs[m.N-1].End, segs[m.N-1].Text
	} else {
		m.Gone = true
	}
	h.render(w, r, http.StatusPreconditionFailed, views.SegmentEditPage(m))
}

// loadSegment loads the user's job, its current revision, and the segment
// number n of the path, which the current revision may not have (a stale
// form names a segment of an older one); job.ErrNotFound when n is not a
// number from 1.
func (h *Handler) loadSegment(r *http.Request, u store.User) (job.Job, job.Revision, int, error) {
	j, err := h.Store.Job(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		return job.Job{}, job.Revision{}, 0, err
	}
	cur, err := h.Store.CurrentRevision(r.Context(), j.ID)
	if err != nil {
		return job.Job{}, job.Revision{}, 0, orConflict(err, "The transcript is not ready yet.")
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		return job.Job{}, job.Revision{}, 0, job.ErrNotFound
	}
	return j, cur, n, nil
}
