package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"scribe/job"
	"scribe/store"
	"scribe/store/storetest"
)

// ids lists the ids of jobs.
func ids(jobs []job.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

// allPages follows q's cursors to the end, returning every id in order.
func allPages(t *testing.T, s *store.Store, q store.JobQuery) []string {
	t.Helper()
	var out []string
	for range 100 {
		jobs, next, err := s.ListJobs(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ids(jobs)...)
		if next == nil {
			return out
		}
		c, err := store.ParseCursor(next.String(), q.Sort)
		if err != nil {
			t.Fatalf("cursor %s does not parse: %v", next, err)
		}
		q.After = &c
	}
	t.Fatal("no last page")
	return nil
}

func TestListJobs(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		u, other := storetest.User(t, s, "a@example.com"), storetest.User(t, s, "b@example.com")
		// Two jobs per instant, so pages break between jobs with equal times.
		at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		var newestFirst []string
		for i := range 7 {
			s.Now = func() time.Time { return at.Add(time.Duration(i/2) * time.Millisecond) }
			newestFirst = append(newestFirst, storetest.QueuedJob(t, s, u, fmt.Sprintf("j_%d", i)).ID)
		}
		slices.Reverse(newestFirst)
		storetest.QueuedJob(t, s, other, "theirs")

		t.Run("NewestFirst", func(t *testing.T) {
			got := allPages(t, s, store.JobQuery{UserID: u.ID, Sort: store.SortDate, Limit: 2})
			// Equal times order by id, descending too.
			want := []string{"j_6", "j_5", "j_4", "j_3", "j_2", "j_1", "j_0"}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
		t.Run("ByName", func(t *testing.T) {
			name := "B second"
			if _, err := s.OrganiseJob(ctx, u.ID, "j_6", job.Organise{Name: &name}); err != nil {
				t.Fatal(err)
			}
			name = "a first"
			if _, err := s.OrganiseJob(ctx, u.ID, "j_3", job.Organise{Name: &name}); err != nil {
				t.Fatal(err)
			}
			got := allPages(t, s, store.JobQuery{UserID: u.ID, Sort: store.SortName, Limit: 3})
			want := []string{"j_3", "j_6", "j_0", "j_1", "j_2", "j_4", "j_5"}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
		t.Run("ByTagAndStatus", func(t *testing.T) {
			for _, id := range []string{"j_1", "j_4", "j_5"} {
				if _, err := s.OrganiseJob(ctx, u.ID, id, job.Organise{Add: []string{"work"}}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.FailUnsubmitted(ctx, "j_4", "no"); err != nil {
				t.Fatal(err)
			}
			if got, want := allPages(t, s, store.JobQuery{UserID: u.ID, Sort: store.SortDate, Tag: "work", Limit: 1}),
				[]string{"j_5", "j_4", "j_1"}; !slices.Equal(got, want) {
				t.Errorf("tag: got %v, want %v", got, want)
			}
			if got, want := allPages(t, s, store.JobQuery{UserID: u.ID, Sort: store.SortName, Tag: "work", Status: job.StatusQueued, Limit: 1}),
				[]string{"j_1", "j_5"}; !slices.Equal(got, want) {
				t.Errorf("tag and status: got %v, want %v", got, want)
			}
			if got, want := allPages(t, s, store.JobQuery{UserID: other.ID, Sort: store.SortDate, Tag: "work", Limit: 5}),
				[]string(nil); !slices.Equal(got, want) {
				t.Errorf("other user's tag: got %v, want %v", got, want)
			}
		})
		t.Run("BadCursor", func(t *testing.T) {
			c := store.Cursor{Sort: store.SortDate, CreatedAt: at, ID: "j_1"}
			for _, token := range []string{"", "!!", "e30", c.String() + "x"} {
				if _, err := store.ParseCursor(token, store.SortDate); !errors.Is(err, store.ErrBadCursor) {
					t.Errorf("%q: got %v, want ErrBadCursor", token, err)
				}
			}
			if _, err := store.ParseCursor(c.String(), store.SortName); !errors.Is(err, store.ErrBadCursor) {
				t.Errorf("date cursor for a name sort: got %v, want ErrBadCursor", err)
			}
		})
	})
}

func TestOrganiseJob(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		u, other := storetest.User(t, s, "a@example.com"), storetest.User(t, s, "b@example.com")
		j0 := storetest.QueuedJob(t, s, u, "j_1")
		storetest.QueuedJob(t, s, other, "j_2")

		name := "Interview, part 1"
		o, err := job.Organise{Name: &name, Add: []string{" Work ", "draft"}}.Clean()
		if err != nil {
			t.Fatal(err)
		}
		j, err := s.OrganiseJob(ctx, u.ID, "j_1", o)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := j.Name, name; got != want {
			t.Errorf("name: got %q, want %q", got, want)
		}
		if got, want := j.Filename, j0.Filename; got != want {
			t.Errorf("filename: got %q, want %q (kept)", got, want)
		}
		if got, want := j.Tags, []string{"draft", "work"}; !slices.Equal(got, want) {
			t.Errorf("tags: got %v, want %v", got, want)
		}
		if j.Seq <= j0.Seq {
			t.Errorf("seq %d not after %d: streams would miss the change", j.Seq, j0.Seq)
		}
		j, err = s.OrganiseJob(ctx, u.ID, "j_1", job.Organise{Remove: []string{"draft"}})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := j.Tags, []string{"work"}; !slices.Equal(got, want) {
			t.Errorf("after removing: got %v, want %v", got, want)
		}
		if _, err := s.OrganiseJob(ctx, u.ID, "j_2", job.Organise{Add: []string{"x"}}); !errors.Is(err, job.ErrNotFound) {
			t.Errorf("another user's job: got %v, want ErrNotFound", err)
		}
		many := make([]string, job.MaxTags+1)
		for i := range many {
			many[i] = fmt.Sprint("t", i)
		}
		if _, err := s.OrganiseJob(ctx, u.ID, "j_1", job.Organise{Add: many}); job.ErrorCode(err) != job.CodeInvalid {
			t.Errorf("too many tags: got %v, want invalid", err)
		}
		tags, err := s.TagsOf(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := tags, []string{"work"}; !slices.Equal(got, want) {
			t.Errorf("tags of user: got %v, want %v", got, want)
		}
		if _, err := s.DeleteJob(ctx, u.ID, "j_1"); err != nil {
			t.Fatal(err)
		}
		if tags, err := s.TagsOf(ctx, u.ID); err != nil || len(tags) != 0 {
			t.Errorf("tags after deleting the job: got %v, %v; want none", tags, err)
		}
	})
}

func TestDeliveryStats(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		u := storetest.User(t, s, "a@example.com")
		start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return start }
		vias := []job.Via{job.ViaWebhook, job.ViaWebhook, job.ViaSSE, job.ViaPoll}
		for i, via := range vias {
			storetest.SubmittedJob(t, s, u, fmt.Sprint("j_", i), fmt.Sprint("tr_", i))
			// Finished 10 s after submission; 100·(i+1) ms after the upstream.
			s.Now = func() time.Time { return start.Add(10 * time.Second) }
			done := start.Add(10*time.Second - time.Duration(i+1)*100*time.Millisecond)
			if _, _, err := s.ApplyUpdate(ctx, job.Update{UpstreamID: fmt.Sprint("tr_", i), Status: job.StatusCompleted,
				Result: &job.Result{Text: "x"}, Via: via, UpstreamAt: done}); err != nil {
				t.Fatal(err)
			}
			s.Now = func() time.Time { return start }
		}
		storetest.QueuedJob(t, s, u, "unfinished")
		st, err := s.DeliveryStats(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := store.DeliveryStats{Jobs: 4, ViaWebhook: 2, ViaSSE: 1, ViaPoll: 1, PollsAt3s: 4 * 4,
			MedianLatency: 300 * time.Millisecond, FinishedSinceLastWebhook: 2}
		if st != want {
			t.Errorf("got %+v, want %+v", st, want)
		}
	})
}
