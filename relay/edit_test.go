package relay

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/job"
	"scribe/metrics"
	"scribe/store"
)

// newTestRelay returns a Relay on a fresh store whose upstream is never
// reached, and a user's job the upstream knows as tr_1.
func newTestRelay(t *testing.T) (*Relay, *store.Store, job.Job) {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, store.Options{Path: filepath.Join(t.TempDir(), "scribe.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	log := slog.New(slog.DiscardHandler)
	r := New(s, deepscript.New("http://127.0.0.1:1", "key", nil), metrics.New(), log)
	u, err := s.CreateUser(ctx, "ada@example.com", []byte("hash"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.CreateJob(ctx, job.Job{ID: "j_1", UserID: u.ID, Filename: "a.wav", AudioPath: "/x"})
	if err != nil {
		t.Fatal(err)
	}
	if j, err = s.MarkSubmitted(ctx, j.ID, "tr_1"); err != nil {
		t.Fatal(err)
	}
	return r, s, j
}

func wireResult(text string) *deepscript.Result {
	return &deepscript.Result{Text: text, Language: "en", Duration: 2,
		Segments: []deepscript.Segment{{Start: 0, End: 2, Text: text}}}
}

// TestLateResultKeepsEdit completes a job through its event stream, lets
// its owner edit the transcript, then delivers a webhook with the same
// result and one with a different result, as a late or re-run upstream
// might: the edit stays current and is published, the different result is
// kept as an upstream revision of its own, the same one adds nothing.
func TestLateResultKeepsEdit(t *testing.T) {
	ctx := context.Background()
	r, s, j := newTestRelay(t)
	sub, _ := r.Subscribe(j.UserID, 0)
	defer sub.Close()
	first := deepscript.Transcription{ID: "tr_1", Status: deepscript.StatusCompleted, Result: wireResult("hello world")}
	if changed, err := r.Apply(ctx, first.Update(job.ViaSSE)); err != nil || !changed {
		t.Fatalf("completing: changed=%v, %v", changed, err)
	}
	cur, err := s.CurrentRevision(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	edited, err := job.ReviseSegment(cur.Result, 1, "hello there")
	if err != nil {
		t.Fatal(err)
	}
	rev, err := r.Edit(ctx, j.UserID, j.ID, cur.ID, edited)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, sub, func(c *Change) bool { return c.Job.RevisionID == rev.ID })

	for i, res := range []*deepscript.Result{wireResult("hello world"), wireResult("hullo world")} {
		ev := deepscript.WebhookEvent{Event: deepscript.EventCompleted, ID: "tr_1", CreatedAt: time.Now(), Result: res}
		if err := r.ApplyWebhook(ctx, fmt.Sprintf("msg_%d", i), ev); err != nil {
			t.Fatalf("late webhook %d: %v", i, err)
		}
	}
	got, err := s.CurrentRevision(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != rev.ID || got.Result.Text != "hello there" {
		t.Fatalf("current revision %d %q, want the edit %d", got.ID, got.Result.Text, rev.ID)
	}
	revs, err := s.Revisions(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 3 || revs[0].Source != job.SourceUpstream || revs[1].ID != rev.ID {
		t.Fatalf("revisions %+v, want the late upstream one above the edit and the first", revs)
	}
	if _, err := r.Restore(ctx, j.UserID, j.ID, revs[0].ID); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Result(ctx, j.ID); err != nil || res.Text != "hullo world" {
		t.Fatalf("after choosing the late result: %+v, %v", res, err)
	}
}

// waitFor reads changes until one satisfies ok, failing after a deadline
// with what it saw.
func waitFor(t *testing.T, sub *Subscription, ok func(*Change) bool) {
	t.Helper()
	deadline := time.After(2 * time.Second)
	var seen []job.Job
	for {
		changed := sub.Changed()
		c, err := sub.Next()
		if err != nil {
			t.Fatalf("subscription ended: %v; saw %+v", err, seen)
		}
		if c != nil {
			if ok(c) {
				return
			}
			seen = append(seen, c.Job)
			continue
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no matching change published; saw %+v", seen)
		}
	}
}
