package handlers

import (
	"net/http"

	"scribe/store"
	"scribe/views"
)

// jobListLimit is how many recent jobs the list page's stream sends as its
// snapshot.
const jobListLimit = 200

// home is the upload form and a page of the user's jobs, filtered and
// sorted as its query says (the parameters of GET /jobs).
func (h *Handler) home(w http.ResponseWriter, r *http.Request, u store.User) {
	h.showHome(w, r, u, http.StatusOK, nil)
}

// showHome draws the list page with status, and the errors of an upload
// posted without JavaScript, if any.
func (h *Handler) showHome(w http.ResponseWriter, r *http.Request, u store.User, status int, uploadErrors []string) {
	q, jobs, next, err := h.listPage(r, u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tags, err := h.Store.TagsOf(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := r.URL.Query()
	c := views.ListControls{Status: string(q.Status), Tag: q.Tag, Sort: string(q.Sort), Tags: tags, Back: listURL("/", v)}
	if next != nil {
		c.Next = listURL("/", pageValues(v, next))
	}
	if q.After != nil {
		c.First = listURL("/", listValues(v))
	}
	if q.After == nil && q.Sort == store.SortDate && !c.Filtered() {
		c.NewSince = h.Store.Now().UnixMilli()
	}
	m := views.HomeModel{Layout: h.layout(w, r, "Transcribe"), MaxUploadBytes: h.cfg.MaxUploadBytes, UploadErrors: uploadErrors, List: c}
	for _, j := range jobs {
		m.Jobs = append(m.Jobs, viewJob(j))
	}
	h.render(w, r, status, views.HomePage(m))
}
