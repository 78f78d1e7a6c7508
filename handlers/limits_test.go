package handlers

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// slowBody is a request body the test feeds by hand; closing it with an
// error ends the request from the client's side.
func slowBody() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }

// post sends a request in the background and returns its outcome.
func post(req *http.Request) <-chan *http.Response {
	out := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			out <- nil
			return
		}
		resp.Body.Close()
		out <- resp
	}()
	return out
}

func await(t *testing.T, c <-chan *http.Response, within time.Duration) *http.Response {
	t.Helper()
	select {
	case resp := <-c:
		return resp
	case <-time.After(within):
		t.Fatalf("no answer within %v", within)
		return nil
	}
}

// webhookRequest is a delivery to srv declaring size bytes, with fresh
// webhook headers and a signature that does not match.
func forgedDelivery(t *testing.T, srv string, body io.Reader, size int64) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", srv+"/webhooks/deepscript", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("webhook-id", "msg_forged")
	req.Header.Set("webhook-timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	req.Header.Set("webhook-signature", "v1,Zm9yZ2Vk")
	return req
}

// TestWebhookBodiesBounded shows what an unauthenticated sender can make a
// delivery cost: headers are judged before any body is read, bodies not
// yet verified share a fixed memory budget, and a trickled body is cut off.
func TestWebhookBodiesBounded(t *testing.T) {
	defer func(w, b time.Duration) { webhookBudgetWait, webhookBodyTimeout = w, b }(webhookBudgetWait, webhookBodyTimeout)
	webhookBudgetWait, webhookBodyTimeout = 300*time.Millisecond, time.Minute
	h := newTestHandler(t, unreachable())
	registerWebhook(t, h.Store)
	srv := httptest.NewServer(h.Routes())
	defer srv.Close()

	t.Run("UnsignedAnsweredBeforeBody", func(t *testing.T) {
		r, w := slowBody()
		defer w.Close()
		req := forgedDelivery(t, srv.URL, r, maxWebhookBytes)
		req.Header.Del("webhook-signature")
		if got, want := await(t, post(req), 2*time.Second).StatusCode, http.StatusUnauthorized; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
	})

	t.Run("StaleAnsweredBeforeBody", func(t *testing.T) {
		r, w := slowBody()
		defer w.Close()
		req := forgedDelivery(t, srv.URL, r, maxWebhookBytes)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10))
		if got, want := await(t, post(req), 2*time.Second).StatusCode, http.StatusUnauthorized; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
	})

	t.Run("OverCapRefused", func(t *testing.T) {
		r, w := slowBody()
		defer w.Close()
		resp := await(t, post(forgedDelivery(t, srv.URL, r, maxWebhookBytes+1)), 2*time.Second)
		if resp == nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("answer %v, want 413", resp)
		}
	})

	t.Run("BudgetFull", func(t *testing.T) {
		const held = webhookBodyBudget / maxWebhookBytes
		var writers []*io.PipeWriter
		var answers []<-chan *http.Response
		for range held {
			r, w := slowBody()
			writers = append(writers, w)
			answers = append(answers, post(forgedDelivery(t, srv.URL, r, maxWebhookBytes)))
		}
		// Wait until the held deliveries have taken the whole budget.
		deadline := time.Now().Add(5 * time.Second)
		for h.webhooks.bodies.TryAcquire(1) {
			h.webhooks.bodies.Release(1)
			if time.Now().After(deadline) {
				t.Fatalf("%d deliveries of %d MiB did not take the %d MiB budget", held, maxWebhookBytes>>20, webhookBodyBudget>>20)
			}
			time.Sleep(10 * time.Millisecond)
		}
		resp := await(t, post(forgedDelivery(t, srv.URL, strings.NewReader("{}"), 2)), 2*time.Second)
		if resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("delivery over budget answered %v, want 503 with Retry-After", resp)
		}
		for i, w := range writers {
			w.CloseWithError(io.ErrUnexpectedEOF)
			await(t, answers[i], 2*time.Second)
		}
		// The budget is back: a small forgery is read and refused.
		resp = await(t, post(forgedDelivery(t, srv.URL, strings.NewReader("{}"), 2)), 2*time.Second)
		if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("after release answered %v, want 401", resp)
		}
	})

	t.Run("TrickleCutOff", func(t *testing.T) {
		// A handler of its own, made with the short timeout: the others'
		// deliveries may still be read.
		webhookBodyTimeout = 300 * time.Millisecond
		h := newTestHandler(t, unreachable())
		registerWebhook(t, h.Store)
		srv := httptest.NewServer(h.Routes())
		defer srv.Close()
		r, w := slowBody()
		defer w.Close()
		answer := post(forgedDelivery(t, srv.URL, r, 1000))
		go w.Write([]byte("{")) // one byte, then nothing
		resp := await(t, answer, 3*time.Second)
		if resp != nil && resp.StatusCode < 400 {
			t.Fatalf("trickled delivery answered %d", resp.StatusCode)
		}
	})
}

// TestBodyDeadlines holds request bodies open the way a slow-loris client
// does: a form is cut off after formBodyTimeout, an upload once it falls
// below the minimum rate, and a slow but steady upload goes through.
func TestBodyDeadlines(t *testing.T) {
	defer func(f, w time.Duration, b int64) { formBodyTimeout, uploadWindow, uploadWindowBytes = f, w, b }(formBodyTimeout, uploadWindow, uploadWindowBytes)
	formBodyTimeout, uploadWindow, uploadWindowBytes = 300*time.Millisecond, 400*time.Millisecond, 1000
	h := newTestHandler(t, unreachable())
	routes := h.Routes()
	cookie := userCookie(t, h, "ada@example.com")
	srv := httptest.NewServer(routes)
	defer srv.Close()

	// trickle writes data to w in chunks of n bytes every 50 ms until it
	// is all sent or ctx ends.
	trickle := func(ctx context.Context, w *io.PipeWriter, data []byte, n int) {
		defer w.Close()
		for len(data) > 0 && ctx.Err() == nil {
			k := min(n, len(data))
			if _, err := w.Write(data[:k]); err != nil {
				return
			}
			data = data[k:]
			time.Sleep(50 * time.Millisecond)
		}
	}

	t.Run("FormTrickle", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r, w := slowBody()
		req, _ := http.NewRequest("POST", srv.URL+"/login", r)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.ContentLength = 1000
		go trickle(ctx, w, []byte(strings.Repeat("e", 1000)), 1)
		started := time.Now()
		resp := await(t, post(req), 3*time.Second)
		if resp != nil && resp.StatusCode < 400 {
			t.Fatalf("trickled log-in answered %d", resp.StatusCode)
		}
		t.Logf("trickled form cut off after %v", time.Since(started).Round(time.Millisecond))
	})

	upload := func(t *testing.T, chunk int) *http.Response {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ctype, body := multipartFiles(t, audioFiles("a.wav")...)
		data := append(body.Bytes()[:0:0], body.Bytes()...)
		// Pad the file part so the transfer lasts about a second.
		data = []byte(strings.Replace(string(data), "RIFF pretend audio", "RIFF "+strings.Repeat("a", 20*chunk), 1))
		r, w := slowBody()
		req, _ := http.NewRequest("POST", srv.URL+"/jobs", r)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Origin", srv.URL)
		req.AddCookie(cookie)
		req.ContentLength = int64(len(data))
		go trickle(ctx, w, data, chunk)
		return await(t, post(req), 5*time.Second)
	}

	t.Run("UploadTrickle", func(t *testing.T) {
		// 10 bytes per 50 ms is 80 bytes a window, under the 1000 required.
		if resp := upload(t, 10); resp != nil && resp.StatusCode < 400 {
			t.Fatalf("trickled upload answered %d", resp.StatusCode)
		}
	})

	t.Run("SlowUploadFinishes", func(t *testing.T) {
		// 500 bytes per 50 ms is 4000 bytes a window: slow, but enough.
		resp := upload(t, 500)
		if resp == nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("slow upload answered %v, want 201", resp)
		}
	})
}
