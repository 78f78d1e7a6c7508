package relay

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// SweepUploads removes files in dir that no job refers to and that were
// last written more than minAge ago: uploads cut short by a crash or a
// kill. Call it at start, before uploads are taken. A file is written
// until moments before its job is committed, so a minAge of minutes spares
// the uploads other processes sharing dir have in flight. It returns how
// many files it removed.
func (r *Relay) SweepUploads(ctx context.Context, dir string, minAge time.Duration) (int, error) {
	known, err := r.store.AudioPaths(ctx)
	if err != nil {
		return 0, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("relay: unable to list uploads: %w", err)
	}
	removed := 0
	cutoff := time.Now().Add(-minAge)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if known[p] || !e.Type().IsRegular() {
			continue
		}
		if info, err := e.Info(); err != nil || info.ModTime().After(cutoff) {
			continue // gone meanwhile, or perhaps still being written
		}
		if err := os.Remove(p); err != nil {
			r.log.Warn("relay: unable to remove an orphaned upload", "path", p, "error", err)
			continue
		}
		removed++
	}
	if removed > 0 {
		r.log.Info("relay: removed orphaned uploads", "count", removed, "dir", dir)
	}
	return removed, nil
}
