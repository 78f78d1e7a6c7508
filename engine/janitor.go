package engine

import (
	"context"
	"log/slog"
	"time"
)

// janitorInterval is how often expired idempotency keys and old finished
// deliveries are pruned.
const janitorInterval = time.Hour

// runJanitor prunes idempotency keys past their 24 h, and deliveries that
// ended (delivered or given up) over deliveryRetention ago, until ctx ends.
func runJanitor(ctx context.Context, st *store, log *slog.Logger) {
	ticker := time.NewTicker(janitorInterval)
	defer ticker.Stop()
	for {
		if err := st.PruneIdempotencyKeys(ctx); err != nil && ctx.Err() == nil {
			log.Error("unable to prune idempotency keys", "error", err)
		}
		if err := st.PruneDeliveries(ctx); err != nil && ctx.Err() == nil {
			log.Error("unable to prune deliveries", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
