package relay_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"scribe/deepscript/deepscripttest"
	"scribe/metrics"
	"scribe/pgtest"
	"scribe/relay"
	"scribe/sqldb"
	"scribe/store"
	"scribe/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestChangesFromAnotherReplica runs a relay on PostgreSQL beside a second
// store on the same database, as another replica's: a job that replica
// creates and changes reaches this relay's subscriber; when the relay's
// listening connection is cut, the subscriber is told it fell behind (a
// browser then resumes from the store), and changes flow again after the
// reconnect.
func TestChangesFromAnotherReplica(t *testing.T) {
	ctx := context.Background()
	o := storetest.OptionsOn(t, sqldb.Postgres)
	open := func() *store.Store {
		s, err := store.Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	here, there := open(), open()
	r := relay.New(here, deepscripttest.NewServer(t).Client(), metrics.New(), slog.New(slog.DiscardHandler))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	u := storetest.User(t, there, "ada@example.com")

	probes := 0
	// next waits for sub's next change.
	next := func(sub *relay.Subscription) (*relay.Change, error) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			changed := sub.Changed()
			if c, err := sub.Next(); c != nil || err != nil {
				return c, err
			}
			select {
			case <-changed:
			case <-deadline:
				t.Fatalf("no change within 10 s (probes %d)", probes)
			}
		}
	}
	// subscribed subscribes once the relay is listening: until then, a
	// subscription may be dropped as having missed changes.
	subscribed := func() *relay.Subscription {
		t.Helper()
		for k := 0; ; k++ {
			probes++
			sub, err := r.Subscribe(u.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			j := storetest.QueuedJob(t, there, u, fmt.Sprintf("j_probe_%d", probes))
			// An earlier probe's change may come first: read up to j's.
			c, err := next(sub)
			for err == nil && c.Job.ID != j.ID {
				c, err = next(sub)
			}
			if err == nil {
				return sub
			}
			sub.Close()
			if k > 20 {
				t.Fatalf("no subscription got a change: %v", err)
			}
		}
	}

	sub := subscribed()
	j := storetest.SubmittedJob(t, there, u, "j_1", "tr_1")
	// Its creation, then its submission; a change read after the next
	// commit is already the newer state, and the next one is left out.
	c, err := next(sub)
	if err == nil && c.Job.Seq < j.Seq {
		c, err = next(sub)
	}
	if err != nil || c.Job.ID != "j_1" || c.Job.Seq != j.Seq || c.Job.UpstreamID != "tr_1" {
		t.Fatalf("change %+v, %v; want j_1 submitted, seq %d", c, err, j.Seq)
	}
	if _, err := there.DeleteJob(ctx, u.ID, "j_1"); err != nil {
		t.Fatal(err)
	}
	if c, err = next(sub); err != nil || !c.Deleted || c.Job.ID != "j_1" {
		t.Fatalf("third change %+v, %v; want j_1 deleted", c, err)
	}

	// Cut the relay's LISTEN connection from the server side.
	db, err := sql.Open("pgx", o.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query ILIKE 'listen%'`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("terminated %d listening connections, want 1", n)
	}
	if _, err := next(sub); !errors.Is(err, relay.ErrFellBehind) {
		t.Fatalf("after the connection was cut: %v, want ErrFellBehind", err)
	}
	sub.Close()
	sub = subscribed() // changes flow again
	sub.Close()
}
