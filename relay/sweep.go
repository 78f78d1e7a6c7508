package relay

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// SweepUploads removes files in dir that no job refers to: uploads cut
// short by a crash or a kill. Call it at start, before uploads are taken.
// It returns how many files it removed.
func (r *Relay) SweepUploads(ctx context.Context, dir string) (int, error) {
	known, err := r.store.AudioPaths(ctx)
	if err != nil {
		return 0, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("relay: unable to list uploads: %w", err)
	}
	removed := 0
	for _, e := range entries {
		if p := filepath.Join(dir, e.Name()); !known[p] && e.Type().IsRegular() {
			if err := os.Remove(p); err != nil {
				r.log.Warn("relay: unable to remove an orphaned upload", "path", p, "error", err)
				continue
			}
			removed++
		}
	}
	if removed > 0 {
		r.log.Info("relay: removed orphaned uploads", "count", removed, "dir", dir)
	}
	return removed, nil
}
