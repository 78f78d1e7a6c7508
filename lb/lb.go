// Package lb is a small round-robin load balancer for running several
// scribe processes on one machine (make cluster, the replica tests): it
// spreads requests over its backends, streams answers as they come (SSE),
// and passes a request to the next backend when one refuses the
// connection, so a killed replica costs nothing but its open streams.
package lb

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"syscall"
)

// Balancer is an http.Handler proxying to its backends in turn.
type Balancer struct {
	backends []*url.URL
	next     atomic.Uint64
	proxy    *httputil.ReverseProxy
}

type backendKey struct{}

// New balances over the given base URLs.
func New(backends ...*url.URL) *Balancer {
	b := &Balancer{backends: backends}
	b.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(r.In.Context().Value(backendKey{}).(*url.URL))
			r.Out.Host = r.In.Host // the app checks Origin against its own host
			r.SetXForwarded()
		},
		FlushInterval: -1, // event streams: every write goes straight out
		Transport:     &refusedTransport{b: b},
	}
	return b
}

// ServeHTTP proxies r to the next backend.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := b.next.Add(1)
	ctx := context.WithValue(r.Context(), backendKey{}, b.backends[i%uint64(len(b.backends))])
	b.proxy.ServeHTTP(w, r.WithContext(ctx))
}

// refusedTransport retries a request whose connection was refused on the
// other backends in turn: nothing was sent, so any request may be retried.
type refusedTransport struct{ b *Balancer }

func (t *refusedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	// The transport closes a request's body even when it could not
	// connect, though then it read none of it: each try gets the body
	// behind a Close that does nothing, and the server closes the real one
	// when the proxying handler returns.
	body := r.Body
	try := func(r *http.Request) (*http.Response, error) {
		if body != nil && body != http.NoBody {
			r.Body = io.NopCloser(body)
		}
		return http.DefaultTransport.RoundTrip(r)
	}
	resp, err := try(r.Clone(r.Context()))
	for k := 1; k < len(t.b.backends) && refused(err); k++ {
		next := t.b.backends[(t.b.next.Add(1))%uint64(len(t.b.backends))]
		r2 := r.Clone(r.Context())
		r2.URL.Scheme, r2.URL.Host = next.Scheme, next.Host
		resp, err = try(r2)
	}
	return resp, err
}

func refused(err error) bool {
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &op) && op.Op == "dial")
}
