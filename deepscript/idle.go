package deepscript

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// errStreamIdle is what a stream read returns after the idle watchdog cut
// it.
var errStreamIdle = errors.New("deepscript: event stream silent for too long")

// idleTransport gives each response a watchdog: if no byte arrives for
// idle (from sending the request, through the headers, to every body
// read), the request's context is cancelled, which aborts the read and
// closes the connection. r3labs/sse has no read timeout of its own, so
// without this a silent upstream (a half-open TCP connection, a proxy that
// swallowed the stream) would hang StreamEvents forever. An http.Client
// Timeout cannot do this job: it bounds the whole stream, not silence.
type idleTransport struct {
	base http.RoundTripper
	idle time.Duration
}

// RoundTrip sends req with a watchdog on its context and body.
func (t *idleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	b := &idleBody{idle: t.idle, cancel: cancel}
	b.timer = time.AfterFunc(t.idle, b.expire)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		b.stop()
		if b.fired.Load() {
			return nil, errors.Join(errStreamIdle, err)
		}
		return nil, err
	}
	b.body = resp.Body
	resp.Body = b
	return resp, nil
}

// idleBody re-arms the watchdog on every read that brings bytes.
type idleBody struct {
	body   io.ReadCloser
	idle   time.Duration
	timer  *time.Timer
	cancel context.CancelFunc
	fired  atomic.Bool
}

func (b *idleBody) expire() {
	b.fired.Store(true)
	b.cancel()
}

func (b *idleBody) stop() {
	b.timer.Stop()
	b.cancel()
}

// Read reads from the response body and re-arms the watchdog.
func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 && !b.fired.Load() {
		b.timer.Reset(b.idle)
	}
	if err != nil && err != io.EOF && b.fired.Load() {
		return n, errStreamIdle
	}
	return n, err
}

// Close stops the watchdog and closes the body.
func (b *idleBody) Close() error {
	b.stop()
	return b.body.Close()
}
