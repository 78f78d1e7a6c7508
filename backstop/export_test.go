package backstop

import "context"

// Sweep polls every due job once, as Run does at each wake-up, so tests
// can drive the schedule with a store clock of their own.
func (p *Poller) Sweep(ctx context.Context) { p.sweep(ctx) }
