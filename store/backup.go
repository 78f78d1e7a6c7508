package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/mattn/go-sqlite3"
)

// BackupStats says what Backup copied.
type BackupStats struct {
	Pages    int           // database pages copied
	Bytes    int64         // size of the copy
	Duration time.Duration // time taken
}

// Backup copies the database at srcPath to a new file dstPath with SQLite's
// online backup API, so the copy is consistent while another process keeps
// writing: the copy is taken in one step inside one read transaction, which
// in WAL mode does not hold up writers. It only reads srcPath (no
// migrations, no data dir lock), refuses to overwrite dstPath, and checks
// the copy before it returns; a failed backup leaves no dstPath behind.
func Backup(ctx context.Context, srcPath, dstPath string) (BackupStats, error) {
	start := time.Now()
	// Claim dstPath first, so an existing file is never overwritten; an
	// empty file is a valid empty database for SQLite to fill.
	f, err := os.OpenFile(dstPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return BackupStats{}, fmt.Errorf("store: unable to create backup: %w", err)
	}
	f.Close()
	stats, err := backup(ctx, srcPath, dstPath)
	if err != nil {
		return BackupStats{}, errors.Join(err, os.Remove(dstPath))
	}
	fi, err := os.Stat(dstPath)
	if err != nil {
		return BackupStats{}, fmt.Errorf("store: unable to stat backup: %w", err)
	}
	stats.Bytes, stats.Duration = fi.Size(), time.Since(start)
	return stats, nil
}

func backup(ctx context.Context, srcPath, dstPath string) (BackupStats, error) {
	// mode=rw, not rwc: a mistyped path must not become a new empty
	// database. The busy timeout waits out a checkpoint's brief lock.
	src, err := sql.Open("sqlite3", "file:"+url.PathEscape(srcPath)+"?mode=rw&_busy_timeout=5000&_query_only=true")
	if err != nil {
		return BackupStats{}, fmt.Errorf("store: unable to open %s: %w", srcPath, err)
	}
	defer src.Close()
	dst, err := sql.Open("sqlite3", "file:"+url.PathEscape(dstPath))
	if err != nil {
		return BackupStats{}, fmt.Errorf("store: unable to open %s: %w", dstPath, err)
	}
	defer dst.Close()
	srcConn, err := src.Conn(ctx)
	if err != nil {
		return BackupStats{}, fmt.Errorf("store: unable to open %s: %w", srcPath, err)
	}
	defer srcConn.Close()
	dstConn, err := dst.Conn(ctx)
	if err != nil {
		return BackupStats{}, fmt.Errorf("store: unable to open %s: %w", dstPath, err)
	}
	defer dstConn.Close()

	var stats BackupStats
	err = dstConn.Raw(func(dstRaw any) error {
		return srcConn.Raw(func(srcRaw any) error {
			b, err := dstRaw.(*sqlite3.SQLiteConn).Backup("main", srcRaw.(*sqlite3.SQLiteConn), "main")
			if err != nil {
				return err
			}
			// -1 copies every page in one step: one read transaction, so
			// the copy is of one moment however busy the writer is.
			done, err := b.Step(-1)
			stats.Pages = b.PageCount()
			if err := errors.Join(err, b.Finish()); err != nil {
				return err
			}
			if !done {
				return errors.New("the backup stopped before the last page")
			}
			return nil
		})
	})
	if err != nil {
		return BackupStats{}, fmt.Errorf("store: unable to back up %s: %w", srcPath, err)
	}
	var check string
	if err := dstConn.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil || check != "ok" {
		return BackupStats{}, fmt.Errorf("store: the backup fails its check: %q %v", check, err)
	}
	return stats, nil
}
