package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"scribe/job"
	"scribe/sqldb"
)

// JobSort is an order the job list offers.
type JobSort string

// The orders of the job list.
const (
	SortDate JobSort = "date" // newest first
	SortName JobSort = "name" // by name, A to Z, case folded for ASCII letters
)

// JobQuery asks for one page of a user's jobs.
type JobQuery struct {
	UserID int64
	Status job.Status // only jobs in this state; empty for all
	Tag    string     // only jobs with this tag; empty for all
	Sort   JobSort
	After  *Cursor // where the previous page ended; nil for the first page
	Limit  int
}

// Cursor is where a page of the job list ends: the sort key and id of its
// last job. The next page starts after it, so jobs created meanwhile
// (which sort before it, newest first) neither repeat nor shift a job out.
type Cursor struct {
	Sort      JobSort   `json:"s"`
	CreatedAt time.Time `json:"t,omitzero"`
	Name      string    `json:"n,omitempty"`
	ID        string    `json:"i"`
}

// ErrBadCursor is a page link that this list did not make.
var ErrBadCursor = job.Errorf(job.CodeInvalid, "The link to the next page is not valid; start again from the first page.")

// String is the cursor as an opaque token for links.
func (c Cursor) String() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor reads a token made by Cursor.String for a list sorted by sort.
func ParseCursor(token string, sort JobSort) (Cursor, error) {
	var c Cursor
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) > 1024 || json.Unmarshal(b, &c) != nil || c.Sort != sort || c.ID == "" {
		return Cursor{}, ErrBadCursor
	}
	c.CreatedAt = c.CreatedAt.UTC()
	return c, nil
}

// ListJobs returns a page of q.UserID's jobs in q.Sort order and where the
// next page starts (nil after the last page). Each order has an index
// ending in the job id, so a page costs the same however many jobs the
// user has.
func (s *Store) ListJobs(ctx context.Context, q JobQuery) ([]job.Job, *Cursor, error) {
	where, args := listJobsWhere(q, s.reader.Dialect)
	// One more than asked tells whether another page follows.
	jobs, err := s.queryJobs(ctx, where, append(args, q.Limit+1)...)
	if err != nil || len(jobs) <= q.Limit {
		return jobs, nil, err
	}
	jobs = jobs[:q.Limit]
	last := jobs[len(jobs)-1]
	next := &Cursor{Sort: SortDate, CreatedAt: last.CreatedAt, ID: last.ID}
	if q.Sort == SortName {
		next = &Cursor{Sort: SortName, Name: last.Name, ID: last.ID}
	}
	return jobs, next, nil
}

// byName is the name order, and the cursor's seek in it, per dialect:
// SQLite's NOCASE collation and PostgreSQL's lower() both fold ASCII
// letters (lower() folds other letters too), each matching its own index
// (migrations jobs_user_name).
var byName = map[sqldb.Dialect]struct{ order, after string }{
	sqldb.SQLite:   {"name COLLATE NOCASE, id", "(name, id) > (? COLLATE NOCASE, ?)"},
	sqldb.Postgres: {"lower(name), id", "(lower(name), id) > (lower(?), ?)"},
}

// listJobsWhere is the WHERE, ORDER BY and LIMIT clauses of q's page
// (the limit its last argument, left to the caller) and their arguments.
func listJobsWhere(q JobQuery, d sqldb.Dialect) (string, []any) {
	where, args := []string{"user_id = ?"}, []any{q.UserID}
	if q.Status != "" {
		where, args = append(where, "status = ?"), append(args, q.Status)
	}
	if q.Tag != "" {
		where = append(where, "id IN (SELECT job_id FROM job_tags WHERE user_id = ? AND tag = ?)")
		args = append(args, q.UserID, q.Tag)
	}
	order := "created_at DESC, id DESC"
	if q.Sort == SortName {
		order = byName[d].order
	}
	if c := q.After; c != nil {
		// Row values, so the database seeks in the index instead of
		// filtering; the right-hand side folds case like the left.
		if q.Sort == SortName {
			where, args = append(where, byName[d].after), append(args, c.Name, c.ID)
		} else {
			where, args = append(where, "(created_at, id) < (?, ?)"), append(args, c.CreatedAt, c.ID)
		}
	}
	return "WHERE " + strings.Join(where, " AND ") + " ORDER BY " + order + " LIMIT ?", args
}

// maxTagsListed bounds the tags TagsOf returns.
const maxTagsListed = 200

// TagsOf lists the distinct tags on userID's jobs, in order, up to 200.
func (s *Store) TagsOf(ctx context.Context, userID int64) ([]string, error) {
	// Each step seeks the next distinct tag in the index, so the cost
	// grows with the number of tags, not of tagged jobs.
	rows, err := s.reader.QueryContext(ctx, `WITH RECURSIVE t(tag) AS (
			SELECT min(tag) FROM job_tags WHERE user_id = ?1
			UNION ALL
			SELECT (SELECT min(tag) FROM job_tags WHERE user_id = ?1 AND tag > t.tag) FROM t WHERE t.tag IS NOT NULL
		) SELECT tag FROM t WHERE tag IS NOT NULL LIMIT ?2`, userID, maxTagsListed)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list tags of user %d: %w", userID, err)
	}
	defer rows.Close()
	var tags []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("store: unable to read tag: %w", err)
		}
		tags = append(tags, t)
	}
	return tags, rows.Err()
}

// OrganiseJob renames and retags a user's job as o says (o already
// cleaned), stamped as a change so browser streams show it.
func (s *Store) OrganiseJob(ctx context.Context, userID int64, id string, o job.Organise) (job.Job, error) {
	var j job.Job
	err := s.inChangeTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if j, err = jobByID(ctx, tx, "id = ? AND user_id = ?"+forUpdate(tx), id, userID); err != nil {
			return err
		}
		tags, err := o.Apply(j.Tags)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM job_tags WHERE job_id = ?", id); err != nil {
			return err
		}
		for _, t := range tags {
			if _, err := tx.ExecContext(ctx, "INSERT INTO job_tags (job_id, user_id, tag) VALUES (?, ?, ?)", id, userID, t); err != nil {
				return err
			}
		}
		name := j.Name
		if o.Name != nil {
			name = *o.Name
		}
		renamed := name != j.Name
		if j, err = changeJob(ctx, tx, s.Now(), id, "name = ?", "", name); err != nil || !renamed {
			return err
		}
		return reindex(ctx, tx, id)
	})
	if err != nil && job.ErrorCode(err) == job.CodeInternal {
		err = fmt.Errorf("store: unable to organise job %s: %w", id, err)
	}
	return j, err
}
