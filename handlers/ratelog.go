package handlers

import (
	"log/slog"
	"sync"
	"time"
)

// rateLog writes at most one line per interval and counts what it held
// back, so a flood of bad requests costs a few lines, not one each.
type rateLog struct {
	log      *slog.Logger
	interval time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func newRateLog(log *slog.Logger, interval time.Duration) *rateLog {
	return &rateLog{log: log, interval: interval}
}

// Warn logs msg unless a line went out less than an interval ago.
func (l *rateLog) Warn(msg string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.last) < l.interval {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	l.log.Warn(msg, append(args, "suppressed_since_last", suppressed)...)
}
