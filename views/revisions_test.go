package views

import "testing"

func TestRevisionsPage(t *testing.T) {
	t.Run("Empty", func(t *testing.T) {
		doc, _ := render(t, RevisionsPage(RevisionsModel{Layout: signedIn, Job: completedJob()}))
		if byTestID(doc, "revisions-empty").Length() != 1 || byTestID(doc, "revision").Length() != 0 {
			t.Fatalf("a transcript without revisions does not say it is not ready")
		}
	})
	t.Run("Restore", func(t *testing.T) {
		doc, _ := render(t, RevisionsPage(RevisionsModel{Layout: signedIn, Job: completedJob(), Revisions: []Revision{
			{ID: 3, Source: "restore", RestoredFrom: 1, Author: "ada@example.com", CreatedAt: created, Current: true},
			{ID: 1, Source: "upstream", CreatedAt: created},
		}}))
		if got, want := byTestID(doc, "revision-source").First().Text(), "Restored #1"; got != want {
			t.Errorf("source %q, want %q", got, want)
		}
		if got, want := doc.Find(`form[action="/jobs/j1/revisions/1/restore"][method="post"]`).Length(), 1; got != want {
			t.Errorf("%d restore forms for revision 1, want %d", got, want)
		}
	})
}

// TestSegmentEditGone: a stale form for a segment the current revision no
// longer has offers nothing to save.
func TestSegmentEditGone(t *testing.T) {
	doc, _ := render(t, SegmentEditPage(SegmentEditModel{Layout: signedIn, Job: completedJob(), N: 4, Text: "mine",
		Stale: true, Gone: true}))
	if byTestID(doc, "current-gone").Length() != 1 || byTestID(doc, "segment-form").Length() != 0 {
		t.Fatalf("gone segment: %q", doc.Find("main").Text())
	}
}
