package store

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"scribe/job"
	"scribe/pgtest"
	"scribe/sqldb"
)

// TestListPlans checks that SQLite answers every page of the job list by
// seeking in an index in the list's order: no scan of the table and no
// sort of the user's jobs, so a page costs the same at 100 jobs as at
// 100,000 (BenchmarkPagesScale in handlers measures it).
func TestListPlans(t *testing.T) {
	s, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "scribe.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	eachListQuery(sqldb.SQLite, func(q JobQuery, where string, args []any) {
		plan := explain(t, s, "SELECT id FROM jobs "+where, append(args, q.Limit)...)
		if !strings.Contains(plan, "SEARCH jobs USING COVERING INDEX") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("sort %s, status %q, cursor %v: plan\n%s", q.Sort, q.Status, q.After != nil, plan)
		}
		if q.After != nil && !strings.Contains(plan, ",id)") {
			t.Errorf("sort %s, status %q: the cursor is a filter, not a seek:\n%s", q.Sort, q.Status, plan)
		}
	})
	plan := explain(t, s, `SELECT 1 FROM jobs WHERE user_id = ? AND finished_at IS NOT NULL AND upstream_id IS NOT NULL
		ORDER BY finished_at DESC LIMIT ?`, 1, DeliveryWindow)
	if !strings.Contains(plan, "jobs_user_finished") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("delivery window plan:\n%s", plan)
	}
	// A browser stream's resume (JobsChangedSince) seeks too.
	plan = explain(t, s, "SELECT id FROM jobs WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?", 1, 0, 201)
	if !strings.Contains(plan, "jobs_user_seq") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("resume plan:\n%s", plan)
	}
}

// eachListQuery calls check with every kind of list query (each sort,
// with and without a status filter and a cursor) and its WHERE clause in
// dialect d.
func eachListQuery(d sqldb.Dialect, check func(q JobQuery, where string, args []any)) {
	after := map[JobSort]*Cursor{
		SortDate: {Sort: SortDate, CreatedAt: time.Now(), ID: "j_1"},
		SortName: {Sort: SortName, Name: "a", ID: "j_1"},
	}
	for _, sort := range []JobSort{SortDate, SortName} {
		for _, status := range []job.Status{"", job.StatusCompleted} {
			for _, cursor := range []*Cursor{nil, after[sort]} {
				q := JobQuery{UserID: 1, Sort: sort, Status: status, After: cursor, Limit: 50}
				where, args := listJobsWhere(q, d)
				check(q, where, args)
			}
		}
	}
}

// explain is SQLite's query plan for query, one step a line.
func explain(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.reader.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

// TestListPlansPostgres is TestListPlans on PostgreSQL: with table scans
// priced out (an empty table's statistics would otherwise favour them),
// every page of the job list is an index scan in the list's order, with
// no sort, and a cursor is a seek in the index, not a filter.
func TestListPlansPostgres(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{URL: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	eachListQuery(sqldb.Postgres, func(q JobQuery, where string, args []any) {
		plan := explainPostgres(t, s, "SELECT id FROM jobs "+where, append(args, q.Limit)...)
		if !indexScan.MatchString(plan) || strings.Contains(plan, "Sort") {
			t.Errorf("sort %s, status %q, cursor %v: plan\n%s", q.Sort, q.Status, q.After != nil, plan)
		}
		if q.After != nil && !seek.MatchString(plan) {
			t.Errorf("sort %s, status %q: the cursor is a filter, not a seek:\n%s", q.Sort, q.Status, plan)
		}
	})
	plan := explainPostgres(t, s, "SELECT id FROM jobs WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?", 1, 0, 201)
	if !strings.Contains(plan, "jobs_user_seq") || strings.Contains(plan, "Sort") {
		t.Errorf("resume plan:\n%s", plan)
	}
}

var (
	indexScan = regexp.MustCompile(`Index (Only )?Scan (Backward )?using jobs_user_`)
	seek      = regexp.MustCompile(`Index Cond: .*ROW\(`)
)

// explainPostgres is PostgreSQL's plan for query, with table scans off.
func explainPostgres(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	tx, err := s.reader.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.QueryContext(ctx, "EXPLAIN (COSTS OFF) "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
