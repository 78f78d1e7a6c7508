package deepscript

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// upstream is a fake DeepScript events endpoint; serve is called with the
// 1-based number of the connection.
type upstream struct {
	t     *testing.T
	serve func(n int, w http.ResponseWriter, r *http.Request)

	mu          sync.Mutex
	conns       int
	lastEventID []string // Last-Event-ID of each connection ("" if absent)
	auth        []string
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.conns++
	n := u.conns
	u.lastEventID = append(u.lastEventID, r.Header.Get("Last-Event-ID"))
	u.auth = append(u.auth, r.Header.Get("Authorization"))
	u.mu.Unlock()
	if got, want := r.URL.Path, "/v1/transcriptions/tr_1/events"; got != want {
		u.t.Errorf("path = %q, want %q", got, want)
	}
	u.serve(n, w, r)
}

func (u *upstream) snapshot() (conns int, lastIDs []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.conns, append([]string(nil), u.lastEventID...)
}

// startStream starts a fake upstream and a client for it with fast
// reconnects, and checks at cleanup that no goroutine is left behind.
func startStream(t *testing.T, serve func(n int, w http.ResponseWriter, r *http.Request)) (*Client, *upstream) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() { waitGoroutines(t, base) })
	u := &upstream{t: t, serve: serve}
	srv := httptest.NewServer(u)
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := New(srv.URL, "sk_test", &http.Client{Transport: tr})
	c.Logger = nil
	c.Stream.InitialInterval = 10 * time.Millisecond
	c.Stream.MaxInterval = 50 * time.Millisecond
	c.Stream.IdleTimeout = 5 * time.Second
	// These tests time one stream's reconnects; pacing is the relay's test.
	c.Stream.OpenRate, c.Stream.OpenJitter = 0, 0
	return c, u
}

// waitGoroutines fails the test if the goroutine count does not settle
// back to base within a deadline.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("goroutines: %d, want <= %d\n%s", n, base, buf)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sseHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": hello\n\n")
	w.(http.Flusher).Flush()
}

func sendEvent(t *testing.T, w http.ResponseWriter, id int64, typ string, tr Transcription) {
	t.Helper()
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", id, typ, b)
	w.(http.Flusher).Flush()
}

func tr(status Status, progress float64) Transcription {
	return Transcription{ID: "tr_1", Status: status, Progress: progress}
}

// collect runs StreamEvents with a deadline and returns what it handled.
func collect(t *testing.T, ctx context.Context, c *Client) ([]Event, error, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	type outcome struct {
		got []Event
		err error
	}
	start := time.Now()
	done := make(chan outcome, 1)
	go func() {
		var got []Event
		err := c.StreamEvents(ctx, "tr_1", func(e Event) { got = append(got, e) })
		done <- outcome{got, err}
	}()
	// Fail, rather than hang, if StreamEvents ignores its context.
	select {
	case o := <-done:
		return o.got, o.err, time.Since(start)
	case <-time.After(15 * time.Second):
		t.Fatalf("StreamEvents did not return 5 s after its context ended")
		return nil, nil, 0
	}
}

func eventIDs(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%d:%s ", e.ID, e.Transcription.Status)
	}
	return strings.TrimSpace(b.String())
}

func TestStreamEvents(t *testing.T) {
	t.Run("ReconnectsAfterEOFWithLastEventID", func(t *testing.T) {
		c, u := startStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
			sseHeaders(w)
			switch n {
			case 1:
				sendEvent(t, w, 1, EventStatus, tr(StatusQueued, 0))
				sendEvent(t, w, 2, EventProgress, tr(StatusProcessing, 0.5))
				// Return: a clean close before the final event.
			default:
				sendEvent(t, w, 3, EventCompleted, tr(StatusCompleted, 1))
			}
		})
		got, err, _ := collect(t, t.Context(), c)
		if err != nil {
			t.Fatalf("StreamEvents: %v", err)
		}
		if got, want := eventIDs(got), "1:queued 2:processing 3:completed"; got != want {
			t.Errorf("events = %q, want %q", got, want)
		}
		conns, ids := u.snapshot()
		if got, want := conns, 2; got != want {
			t.Fatalf("connections = %d, want %d", got, want)
		}
		if got, want := ids[0], ""; got != want {
			t.Errorf("first Last-Event-ID = %q, want %q", got, want)
		}
		if got, want := ids[1], "2"; got != want {
			t.Errorf("reconnect Last-Event-ID = %q, want %q", got, want)
		}
		if got, want := u.auth[1], "Bearer sk_test"; got != want {
			t.Errorf("Authorization = %q, want %q", got, want)
		}
	})

	t.Run("CancelWhileServerDown", func(t *testing.T) {
		c, _ := startStream(t, func(int, http.ResponseWriter, *http.Request) {})
		// A port nobody listens on: every attempt is refused.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c.baseURL = "http://" + addr
		c.Stream.InitialInterval = 10 * time.Minute
		c.Stream.MaxInterval = 10 * time.Minute
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		_, err, took := collect(t, ctx, c)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want deadline exceeded", err)
		}
		if took > time.Second+300*time.Millisecond {
			t.Errorf("returned after %v, want within ~1 s of cancel", took)
		}
	})

	t.Run("CancelWhileHonouringRetryAfter", func(t *testing.T) {
		c, u := startStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3600")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":{"code":"unavailable","message":"busy"}}`)
		})
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		_, err, took := collect(t, ctx, c)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want deadline exceeded", err)
		}
		if took > time.Second+300*time.Millisecond {
			t.Errorf("returned after %v, want within ~1 s of cancel", took)
		}
		// Retry-After (capped at MaxRetryAfter) is honoured: no second try.
		if conns, _ := u.snapshot(); conns != 1 {
			t.Errorf("connections = %d, want 1 (Retry-After ignored)", conns)
		}
	})

	t.Run("RetryAfterThenRecovers", func(t *testing.T) {
		c, u := startStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			sseHeaders(w)
			sendEvent(t, w, 1, EventCompleted, tr(StatusCompleted, 1))
		})
		got, err, took := collect(t, t.Context(), c)
		if err != nil {
			t.Fatalf("StreamEvents: %v", err)
		}
		if got, want := eventIDs(got), "1:completed"; got != want {
			t.Errorf("events = %q, want %q", got, want)
		}
		if took < 900*time.Millisecond {
			t.Errorf("reconnected after %v, want >= Retry-After 1 s", took)
		}
		if conns, _ := u.snapshot(); conns != 2 {
			t.Errorf("connections = %d, want 2", conns)
		}
	})

	t.Run("SilentUpstreamReconnects", func(t *testing.T) {
		c, u := startStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
			switch n {
			case 1:
				sseHeaders(w)
				sendEvent(t, w, 1, EventProgress, tr(StatusProcessing, 0.1))
				<-r.Context().Done() // then silence: no pings
			default:
				sseHeaders(w)
				sendEvent(t, w, 2, EventCompleted, tr(StatusCompleted, 1))
			}
		})
		c.Stream.IdleTimeout = 300 * time.Millisecond
		got, err, took := collect(t, t.Context(), c)
		if err != nil {
			t.Fatalf("StreamEvents: %v", err)
		}
		if got, want := eventIDs(got), "1:processing 2:completed"; got != want {
			t.Errorf("events = %q, want %q", got, want)
		}
		if took < 300*time.Millisecond || took > 3*time.Second {
			t.Errorf("took %v, want about the idle timeout", took)
		}
		if _, ids := u.snapshot(); len(ids) != 2 || ids[1] != "1" {
			t.Errorf("Last-Event-IDs = %q, want [\"\" \"1\"]", ids)
		}
	})

	t.Run("SilentBeforeHeadersReconnects", func(t *testing.T) {
		c, u := startStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				<-r.Context().Done() // accept, then never answer
				return
			}
			sseHeaders(w)
			sendEvent(t, w, 1, EventCompleted, tr(StatusCompleted, 1))
		})
		c.Stream.IdleTimeout = 300 * time.Millisecond
		got, err, _ := collect(t, t.Context(), c)
		if err != nil {
			t.Fatalf("StreamEvents: %v", err)
		}
		if len(got) != 1 {
			t.Errorf("events = %q, want one", eventIDs(got))
		}
		if conns, _ := u.snapshot(); conns != 2 {
			t.Errorf("connections = %d, want 2", conns)
		}
	})

	t.Run("PingsKeepStreamAlive", func(t *testing.T) {
		c, u := startStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
			sseHeaders(w)
			for range 8 {
				time.Sleep(50 * time.Millisecond)
				fmt.Fprint(w, ": ping\n\n")
				w.(http.Flusher).Flush()
			}
			sendEvent(t, w, 1, EventCompleted, tr(StatusCompleted, 1))
		})
		c.Stream.IdleTimeout = 200 * time.Millisecond
		if _, err, _ := collect(t, t.Context(), c); err != nil {
			t.Fatalf("StreamEvents: %v", err)
		}
		if conns, _ := u.snapshot(); conns != 1 {
			t.Errorf("connections = %d, want 1 (pings should count as activity)", conns)
		}
	})

	t.Run("LargeEventIntact", func(t *testing.T) {
		big := tr(StatusCompleted, 1)
		var b strings.Builder
		for i := range 1 << 20 {
			b.WriteByte("abcdefghijklmnopqrstuvwxyz0123456789"[i%36])
		}
		big.Metadata = b.String()
		c, _ := startStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
			sseHeaders(w)
			sendEvent(t, w, 1, EventProgress, tr(StatusProcessing, 0.5))
			sendEvent(t, w, 2, EventCompleted, big)
		})
		got, err, _ := collect(t, t.Context(), c)
		if err != nil {
			t.Fatalf("StreamEvents: %v", err)
		}
		if len(got) != 2 {
			t.Fatalf("events = %d, want 2", len(got))
		}
		if got, want := got[1].Transcription.Metadata, big.Metadata; got != want {
			t.Errorf("1 MiB metadata differs: got %d bytes", len(got))
		}
	})

	t.Run("OversizeEventFailsInsteadOfLooping", func(t *testing.T) {
		c, u := startStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
			sseHeaders(w)
			tr := tr(StatusProcessing, 0.5)
			tr.Metadata = strings.Repeat("x", 64<<10)
			sendEvent(t, w, 1, EventProgress, tr)
		})
		c.Stream.MaxEventSize = 16 << 10
		_, err, _ := collect(t, t.Context(), c)
		if err == nil || !strings.Contains(err.Error(), "token too long") {
			t.Errorf("err = %v, want token too long", err)
		}
		if conns, _ := u.snapshot(); conns != 1 {
			t.Errorf("connections = %d, want 1", conns)
		}
	})

	for _, tc := range []struct {
		name   string
		status int
		code   string
		is     func(error) bool
	}{
		{"Unauthorized", http.StatusUnauthorized, CodeUnauthorized, IsUnauthorized},
		{"NotFound", http.StatusNotFound, CodeNotFound, IsNotFound},
	} {
		t.Run(tc.name+"IsPermanent", func(t *testing.T) {
			c, u := startStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				fmt.Fprintf(w, `{"error":{"code":%q,"message":"nope"}}`, tc.code)
			})
			_, err, took := collect(t, t.Context(), c)
			if !tc.is(err) {
				t.Errorf("err = %v, want status %d", err, tc.status)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Code != tc.code {
				t.Errorf("err = %#v, want *APIError with code %q", err, tc.code)
			}
			if took > time.Second {
				t.Errorf("took %v, want prompt", took)
			}
			time.Sleep(100 * time.Millisecond)
			if conns, _ := u.snapshot(); conns != 1 {
				t.Errorf("connections = %d, want 1 (no retry storm)", conns)
			}
		})
	}

	for _, final := range []struct {
		typ    string
		status Status
	}{{EventCompleted, StatusCompleted}, {EventFailed, StatusFailed}} {
		t.Run("StopsAfter_"+string(final.status), func(t *testing.T) {
			c, u := startStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
				sseHeaders(w)
				fmt.Fprint(w, "retry: 2000\n\n")
				sendEvent(t, w, 4, EventProgress, tr(StatusProcessing, 0.9))
				sendEvent(t, w, 5, final.typ, tr(final.status, 1))
				// A server that does not close: keep pinging until the
				// client leaves.
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-r.Context().Done():
						return
					case <-tick.C:
						fmt.Fprint(w, ": ping\n\n")
						w.(http.Flusher).Flush()
					}
				}
			})
			got, err, took := collect(t, t.Context(), c)
			if err != nil {
				t.Fatalf("StreamEvents: %v", err)
			}
			if got, want := eventIDs(got), "4:processing 5:"+string(final.status); got != want {
				t.Errorf("events = %q, want %q", got, want)
			}
			if got[1].Type != final.typ {
				t.Errorf("type = %q, want %q", got[1].Type, final.typ)
			}
			if took > time.Second {
				t.Errorf("took %v, want prompt return after the final event", took)
			}
			time.Sleep(100 * time.Millisecond)
			if conns, _ := u.snapshot(); conns != 1 {
				t.Errorf("connections = %d, want 1", conns)
			}
		})
	}

	t.Run("SkipsUnreadableEvents", func(t *testing.T) {
		c, _ := startStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
			sseHeaders(w)
			fmt.Fprint(w, "id: 1\nevent: transcription.progress\ndata: {not json\n\n")
			sendEvent(t, w, 2, EventCompleted, tr(StatusCompleted, 1))
		})
		got, err, _ := collect(t, t.Context(), c)
		if err != nil {
			t.Fatalf("StreamEvents: %v", err)
		}
		if got, want := eventIDs(got), "2:completed"; got != want {
			t.Errorf("events = %q, want %q", got, want)
		}
	})

	t.Run("NoContentIsPermanent", func(t *testing.T) {
		c, u := startStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		})
		_, err, _ := collect(t, t.Context(), c)
		if !errors.Is(err, ErrNoEventStream) {
			t.Errorf("err = %v, want ErrNoEventStream", err)
		}
		if conns, _ := u.snapshot(); conns != 1 {
			t.Errorf("connections = %d, want 1", conns)
		}
	})
}
