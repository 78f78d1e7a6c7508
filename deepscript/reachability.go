package deepscript

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// reachability is what the client's calls last learnt of whether the
// upstream can be reached.
type reachability struct {
	mu    sync.Mutex
	down  bool
	since time.Time
}

// Unreachable reports whether the upstream could not be reached on the
// latest call (no connection, or a 502, 503 or 504 in front of it), and
// since when. Pages use it to tell people why their uploads wait.
func (c *Client) Unreachable() (bool, time.Time) {
	c.reach.mu.Lock()
	defer c.reach.mu.Unlock()
	return c.reach.down, c.reach.since
}

// observe records one call's outcome. A call we cancelled ourselves says
// nothing about the upstream.
func (c *Client) observe(ctx context.Context, resp *http.Response, err error) {
	if err != nil && ctx.Err() != nil {
		return
	}
	down := err != nil
	if resp != nil {
		switch resp.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			down = true
		}
	}
	c.reach.mu.Lock()
	defer c.reach.mu.Unlock()
	if down != c.reach.down {
		c.reach.down, c.reach.since = down, c.Now()
	}
}
