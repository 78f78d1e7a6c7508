package deepscript

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/r3labs/sse/v2"
	"gopkg.in/cenkalti/backoff.v1"
)

// How r3labs/sse/v2 v2.10.0 behaves, as read in its code (client.go,
// event.go) and the backoff.v1 it uses, and what StreamEvents does about it:
//   - A clean close (EOF), and a read cut by a cancelled context (ReadEvent
//     turns context.Canceled into EOF), make Subscribe* return nil without
//     reconnecting: the loop in StreamEvents resubscribes.
//   - RetryNotify waits on the backoff's own context, not the one given to
//     Subscribe, and the default backoff stops 15 min after Subscribe
//     began (a good connection does not reset it): each subscription gets
//     backoff.WithContext(b, ctx) with MaxElapsedTime 0.
//   - The http.Client has no timeouts and nothing watches for silence:
//     idleTransport cuts a connection silent for IdleTimeout.
//   - Comments (": ping") never reach the handler, but they are bytes read,
//     so they keep the watchdog quiet.
//   - The line reader is a bufio.Scanner capped at 64 KiB by default, and
//     the cap is for the whole event block (id, event and "data: " lines),
//     so ClientMaxBufferSize(1<<20), the value usually advised, is NOT
//     enough for a 1 MiB payload: we default to 4 MiB. An oversize event
//     fails with bufio.ErrTooLong; the library would reconnect and receive
//     it again forever (its id is never recorded), so notify ends the
//     stream with that error.
//   - With a ResponseValidator set, the library checks no status and does
//     not close the body: validate does both.
//   - "retry:" is parsed but never used, and a block holding only "retry:"
//     is delivered with the previous event's id copied in; an event without
//     "id:" also gets the previous id. onEvent skips data-less blocks and
//     uses "retry:" as the least wait after a clean close.
//   - One Client holds the last event id, the backoff and (unlocked)
//     connection flags, so it serves exactly one stream here.

// ErrNoEventStream is returned by StreamEvents when the server answers the
// subscription with a 2xx other than 200 (such as 204 for a job it no
// longer streams): fetch the job's state with Status instead.
var ErrNoEventStream = errors.New("deepscript: server has no event stream for this transcription")

// Event is one server-sent event about a transcription.
type Event struct {
	// ID is the SSE id, a per-transcription counter.
	ID int64
	// Type is one of EventStatus, EventProgress, EventCompleted, EventFailed.
	Type string
	// Transcription is the status object the event carries (no Result).
	Transcription Transcription
}

// StreamOptions tunes StreamEvents. Zero fields take the defaults of
// DefaultStreamOptions, except OpenRate and OpenJitter, where 0 is off.
type StreamOptions struct {
	// IdleTimeout is how long a connection may stay silent before it is
	// cut and reopened. The server pings at least every 15 s, so about
	// twice that.
	IdleTimeout time.Duration
	// InitialInterval is the first wait before reconnecting.
	InitialInterval time.Duration
	// MaxInterval caps the wait between reconnects.
	MaxInterval time.Duration
	// MaxRetryAfter caps how long a server's Retry-After is honoured.
	MaxRetryAfter time.Duration
	// MaxEventSize is the largest event accepted, in bytes (whole event
	// block, not only its data).
	MaxEventSize int
	// OpenRate is how many stream connections (first ones and
	// reconnects, of all this client's streams together) may start per
	// second; 0 means no limit.
	OpenRate float64
	// OpenJitter is the longest random wait before each connection, on
	// top of OpenRate, so streams cut together do not return in lockstep;
	// 0 means none.
	OpenJitter time.Duration
}

// DefaultStreamOptions returns the options New sets.
func DefaultStreamOptions() StreamOptions {
	return StreamOptions{
		IdleTimeout:     35 * time.Second,
		InitialInterval: 500 * time.Millisecond,
		MaxInterval:     30 * time.Second,
		MaxRetryAfter:   5 * time.Minute,
		MaxEventSize:    4 << 20,
		OpenRate:        20,
		OpenJitter:      250 * time.Millisecond,
	}
}

func (o StreamOptions) withDefaults() StreamOptions {
	d := DefaultStreamOptions()
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = d.IdleTimeout
	}
	if o.InitialInterval <= 0 {
		o.InitialInterval = d.InitialInterval
	}
	if o.MaxInterval <= 0 {
		o.MaxInterval = d.MaxInterval
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = d.MaxRetryAfter
	}
	if o.MaxEventSize <= 0 {
		o.MaxEventSize = d.MaxEventSize
	}
	return o
}

func (o StreamOptions) newBackOff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = o.InitialInterval
	b.MaxInterval = o.MaxInterval
	// 0 means never give up: the library's default (15 min, counted from
	// the start of the subscription and never reset by a good connection)
	// would end a healthy long stream at its first hiccup after 15 min.
	b.MaxElapsedTime = 0
	b.Reset()
	return b
}

// StreamEvents follows a transcription's events
// (GET /v1/transcriptions/{id}/events), calling handle for each, in order,
// on the calling goroutine. It reconnects, resuming with Last-Event-ID,
// until it has handled an event with a final status (then it returns nil),
// ctx ends, or the server refuses for good (a 4xx other than 408/429, as an
// *APIError; see IsNotFound and IsUnauthorized).
//
// Events may repeat across reconnects (a server that forgot the id replays
// its current state), so handle must be idempotent and must not move a
// status backwards. handle should return quickly: while it runs the
// connection is not read, and the idle watchdog counts that as silence.
func (c *Client) StreamEvents(ctx context.Context, id string, handle func(Event)) error {
	if id == "" {
		return errors.New("deepscript: stream events: empty id")
	}
	opts := c.Stream.withDefaults()
	s := &stream{id: id, handle: handle, opts: opts, log: c.logger().With("upstream_id", id), now: c.Now}

	// One sse.Client per stream: it keeps the last event id and sends it
	// as Last-Event-ID on every reconnect; sharing one between streams
	// races on that state.
	sc := sse.NewClient(c.endpoint("transcriptions", id, "events"), sse.ClientMaxBufferSize(opts.MaxEventSize))
	sc.Connection = c.streamHTTPClient(opts.IdleTimeout)
	sc.Headers["Authorization"] = "Bearer " + c.apiKey
	sc.Headers["User-Agent"] = "scribe-deepscript/1"
	sc.ResponseValidator = s.validate
	sc.ReconnectNotify = s.notify

	// pause spaces out reconnects after clean closes, which r3labs does not
	// retry at all; it starts over whenever a connection brought events.
	pause := opts.newBackOff()
	for {
		subCtx, cancel := context.WithCancel(ctx)
		s.cancelSub, s.progressed, s.fatal = cancel, false, nil
		// The context makes the library's retry wait end as soon as ctx
		// (or subCtx, after a final event) does; without it a cancelled
		// stream would sit out its backoff.
		sc.ReconnectStrategy = backoff.WithContext(&retryAfterBackOff{BackOff: opts.newBackOff(), s: s}, subCtx)
		err := sc.SubscribeRawWithContext(subCtx, s.onEvent)
		cancel()
		switch {
		case s.done:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("deepscript: events for %s: %w", id, ctx.Err())
		case s.fatal != nil:
			return fmt.Errorf("deepscript: events for %s: %w", id, s.fatal)
		case err != nil:
			// With MaxElapsedTime 0 and a live context the library only
			// gives up on a permanent error from validate.
			if errors.Is(err, ErrNoEventStream) {
				return err
			}
			return fmt.Errorf("deepscript: events for %s: %w", id, err)
		}
		// err == nil: the server closed the stream before a final event
		// (r3labs returns nil on EOF and does not reconnect by itself).
		if s.progressed {
			pause.Reset()
		}
		wait := min(max(pause.NextBackOff(), s.retryHint), opts.MaxInterval)
		s.log.Info("deepscript: event stream closed early, reconnecting", "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("deepscript: events for %s: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}

// streamHTTPClient returns an http.Client for event streams: the same
// transport as normal calls but no overall Timeout (a stream lasts as long
// as the job), with an idle watchdog instead.
func (c *Client) streamHTTPClient(idle time.Duration) *http.Client {
	base := c.http.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{
		Transport: &pacedTransport{base: &idleTransport{base: base, idle: idle},
			opens: c.streamLimiter(), jitter: c.Stream.OpenJitter},
		CheckRedirect: c.http.CheckRedirect,
		Jar:           c.http.Jar,
	}
}

// stream is the state of one StreamEvents call. Everything in it is used
// only on the calling goroutine: r3labs runs the handler, the response
// validator, the backoff and the notify callback there (only its line
// reader has a goroutine of its own).
type stream struct {
	id     string
	handle func(Event)
	opts   StreamOptions
	log    *slog.Logger
	now    func() time.Time

	cancelSub  context.CancelFunc // ends the current subscription
	done       bool               // a final event was handled
	progressed bool               // the current subscription brought an event
	fatal      error              // a failure that reconnecting cannot fix
	retryAfter time.Duration      // from the last 429/503, for the next wait
	retryHint  time.Duration      // the server's "retry:" field
}

// validate is the sse.Client's ResponseValidator. The library neither
// closes the body nor checks the status when a validator is set, so this
// does both; 4xx answers other than 408 and 429 are made permanent so they
// end the stream instead of retrying forever.
func (s *stream) validate(_ *sse.Client, resp *http.Response) error {
	if resp.StatusCode == http.StatusOK {
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if ct == "text/event-stream" {
			return nil
		}
		resp.Body.Close()
		return fmt.Errorf("deepscript: event stream answered with Content-Type %q", ct)
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		resp.Body.Close()
		return backoff.Permanent(ErrNoEventStream)
	}
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	apiErr := newAPIError(resp, now())
	if !apiErr.Temporary() {
		return backoff.Permanent(apiErr)
	}
	s.retryAfter = apiErr.RetryAfter
	return apiErr
}

// notify is the sse.Client's ReconnectNotify, called after a failed
// connection and before the library waits to retry.
func (s *stream) notify(err error, wait time.Duration) {
	if errors.Is(err, bufio.ErrTooLong) {
		// The library would reconnect, get the same event again (its id
		// was never recorded) and loop forever.
		s.fatal = fmt.Errorf("event over %d bytes: %w", s.opts.MaxEventSize, err)
		s.cancelSub()
		return
	}
	s.log.Info("deepscript: event stream failed, reconnecting", "error", err, "wait", wait)
}

// onEvent handles one event from the library.
func (s *stream) onEvent(m *sse.Event) {
	if s.done {
		return
	}
	if len(m.Retry) > 0 {
		if ms, err := strconv.ParseInt(string(m.Retry), 10, 64); err == nil && ms >= 0 {
			s.retryHint = time.Duration(ms) * time.Millisecond
		}
	}
	if len(m.Data) == 0 {
		// A block with only "retry:" (the library fills in the previous
		// id, so it looks like an event) carries no state.
		return
	}
	var t Transcription
	if err := json.Unmarshal(m.Data, &t); err != nil {
		s.log.Warn("deepscript: skipping unreadable event", "event_id", string(m.ID), "error", err)
		return
	}
	if t.ID != "" && t.ID != s.id {
		s.log.Warn("deepscript: skipping event for another transcription", "event_id", string(m.ID), "other_id", t.ID)
		return
	}
	// A missing id is filled in by the library with the last id seen; an
	// unreadable one is reported as 0.
	id, _ := strconv.ParseInt(string(m.ID), 10, 64)
	typ := string(m.Event)
	if typ == "" {
		typ = "message"
	}
	s.progressed = true
	s.handle(Event{ID: id, Type: typ, Transcription: t})
	if t.Status.Final() || typ == EventCompleted || typ == EventFailed {
		// The server closes the stream after the final event, but a server
		// that keeps pinging would otherwise hold us here forever.
		s.done = true
		s.cancelSub()
	}
}

// retryAfterBackOff waits at least as long as the server's last
// Retry-After asked, within MaxRetryAfter.
type retryAfterBackOff struct {
	backoff.BackOff
	s *stream
}

// NextBackOff returns the larger of the backoff's wait and Retry-After.
func (b *retryAfterBackOff) NextBackOff() time.Duration {
	next := b.BackOff.NextBackOff()
	if next == backoff.Stop {
		return next
	}
	if ra := min(b.s.retryAfter, b.s.opts.MaxRetryAfter); ra > next {
		next = ra
	}
	b.s.retryAfter = 0
	return next
}
