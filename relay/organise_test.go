package relay

import (
	"context"
	"slices"
	"strings"
	"testing"

	"scribe/job"
)

// TestOrganise renames and tags a job: the change is published with the
// new name and tags, and bad input changes nothing.
func TestOrganise(t *testing.T) {
	ctx := context.Background()
	r, s, j := newTestRelay(t)
	sub, _ := r.Subscribe(j.UserID, 0)
	defer sub.Close()
	name := "  Board meeting\n"
	if _, err := r.Organise(ctx, j.UserID, j.ID, job.Organise{Name: &name, Add: []string{"Work"}}); err != nil {
		t.Fatal(err)
	}
	c, err := sub.Next()
	if err != nil || c == nil {
		t.Fatalf("nothing published (%v)", err)
	}
	if got, want := c.Job.Name, "Board meeting"; got != want {
		t.Errorf("published name %q, want %q", got, want)
	}
	if got, want := c.Job.Tags, []string{"work"}; !slices.Equal(got, want) {
		t.Errorf("published tags %v, want %v", got, want)
	}
	long := strings.Repeat("x", job.MaxNameLen+1)
	for _, o := range []job.Organise{{Name: &long}, {Add: []string{""}}, {Add: []string{"a,b"}}} {
		if _, err := r.Organise(ctx, j.UserID, j.ID, o); job.ErrorCode(err) != job.CodeInvalid {
			t.Errorf("%+v: got %v, want invalid", o, err)
		}
	}
	if got, err := s.Job(ctx, j.UserID, j.ID); err != nil || got.Name != "Board meeting" {
		t.Errorf("after refused changes: %q, %v; want the name kept", got.Name, err)
	}
	if _, err := r.Organise(ctx, j.UserID+1, j.ID, job.Organise{Name: &name}); job.ErrorCode(err) != job.CodeNotFound {
		t.Errorf("another user: got %v, want not found", err)
	}
}
