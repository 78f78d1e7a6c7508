package views

import (
	"strings"
	"testing"
)

// TestJobListControls checks the list's filter form, page links, bulk
// delete and what each row shows to tell jobs apart.
func TestJobListControls(t *testing.T) {
	renamed := completedJob()
	renamed.Name, renamed.Tags, renamed.SizeBytes = "Board meeting", []string{"q3", "work & play"}, 3<<20
	t.Run("FirstPage", func(t *testing.T) {
		doc, _ := render(t, HomePage(HomeModel{Layout: signedIn, Jobs: []Job{renamed},
			List: ListControls{Sort: "date", Tags: []string{"q3", "work & play"}, Next: "/?after=abc", Back: "/", NewSince: 1700000000000}}))
		row := byTestID(doc, "job-row")
		if got, want := row.Find(`[data-testid="job-link"]`).Text(), "Board meeting"; got != want {
			t.Errorf("name %q, want %q", got, want)
		}
		if got, want := row.Find(`[data-testid="job-original-filename"]`).Text(), "talk.mp3"; got != want {
			t.Errorf("original filename %q, want %q", got, want)
		}
		if got, want := row.Find(`[data-testid="job-size"]`).Text(), "3 MB"; got != want {
			t.Errorf("size %q, want %q", got, want)
		}
		if got, want := row.Find(`[data-testid="job-tag"]`).Eq(1).AttrOr("href", ""), "/?tag=work+%26+play"; got != want {
			t.Errorf("tag link %q, want %q", got, want)
		}
		box := row.Find(`[data-testid="job-select"]`)
		if box.AttrOr("form", "") != "bulk-delete" || box.AttrOr("value", "") != "j1" || box.AttrOr("aria-label", "") != "Select Board meeting" {
			t.Errorf("checkbox form=%q value=%q label=%q", box.AttrOr("form", ""), box.AttrOr("value", ""), box.AttrOr("aria-label", ""))
		}
		if n := doc.Find(`form#bulk-delete[action="/jobs/delete"][method="post"][data-confirm]`).Length(); n != 1 {
			t.Errorf("%d bulk delete forms, want 1", n)
		}
		if got, want := byTestID(doc, "next-page").AttrOr("href", ""), "/?after=abc"; got != want {
			t.Errorf("next page %q, want %q", got, want)
		}
		if n := byTestID(doc, "first-page").Length(); n != 0 {
			t.Error("the first page links to the first page")
		}
		if got, want := byTestID(doc, "job-list").AttrOr("data-new-since", ""), "1700000000000"; got != want {
			t.Errorf("data-new-since %q, want %q", got, want)
		}
		for _, id := range []string{"filter-status", "filter-tag", "filter-sort"} {
			field := byTestID(doc, id)
			if doc.Find(`label[for="`+field.AttrOr("id", "-")+`"]`).Length() != 1 {
				t.Errorf("%s has no label", id)
			}
		}
		if n := doc.Find(`#known-tags option`).Length(); n != 2 {
			t.Errorf("%d tags offered, want 2", n)
		}
	})
	t.Run("FilteredLaterPage", func(t *testing.T) {
		doc, _ := render(t, HomePage(HomeModel{Layout: signedIn,
			List: ListControls{Status: "failed", Tag: "q3", Sort: "name", First: "/?status=failed&tag=q3&sort=name"}}))
		if got, want := byTestID(doc, "filter-status").Find("option[selected]").AttrOr("value", ""), "failed"; got != want {
			t.Errorf("status shown %q, want %q", got, want)
		}
		if got, want := byTestID(doc, "filter-sort").Find("option[selected]").AttrOr("value", ""), "name"; got != want {
			t.Errorf("sort shown %q, want %q", got, want)
		}
		if got, want := byTestID(doc, "filter-tag").AttrOr("value", ""), "q3"; got != want {
			t.Errorf("tag shown %q, want %q", got, want)
		}
		if _, ok := byTestID(doc, "job-list").Attr("data-new-since"); ok {
			t.Error("a filtered page adds new uploads live")
		}
		if got, want := strings.Join(strings.Fields(byTestID(doc, "job-list-empty").Text()), " "), "No transcriptions match."; got != want {
			t.Errorf("empty message %q, want %q", got, want)
		}
		if n := byTestID(doc, "next-page").Length(); n != 0 {
			t.Error("the last page links to a next page")
		}
		if got, want := byTestID(doc, "first-page").AttrOr("href", ""), "/?status=failed&tag=q3&sort=name"; got != want {
			t.Errorf("first page %q, want %q", got, want)
		}
	})
}
