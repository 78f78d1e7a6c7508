package deepscript

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// pacedTransport holds back each event stream connection, first or
// reconnect, until the client's stream limiter lets it start, then for a
// random jitter: many streams opened or cut at once (a start with
// thousands of active jobs, an upstream restart) come back spread out,
// not in one stampede. It wraps idleTransport, so the wait is not counted
// as silence.
type pacedTransport struct {
	base   http.RoundTripper
	opens  *rate.Limiter // nil: no limit
	jitter time.Duration
}

// RoundTrip waits its turn, then sends req.
func (t *pacedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.wait(req.Context()); err != nil {
		return nil, err
	}
	return t.base.RoundTrip(req)
}

func (t *pacedTransport) wait(ctx context.Context) error {
	if t.opens != nil {
		if err := t.opens.Wait(ctx); err != nil {
			return err
		}
	}
	if t.jitter <= 0 {
		return nil
	}
	timer := time.NewTimer(rand.N(t.jitter))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// streamLimiter is the token bucket every stream of c shares, made on
// first use from c.Stream; nil when OpenRate is 0.
func (c *Client) streamLimiter() *rate.Limiter {
	c.opensOnce.Do(func() {
		if r := c.Stream.OpenRate; r > 0 {
			// A burst of a quarter second's worth: a single new stream
			// starts at once, a crowd is spread out.
			c.opens = rate.NewLimiter(rate.Limit(r), max(1, int(r/4)))
		}
	})
	return c.opens
}
