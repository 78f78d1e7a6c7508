package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Outbox tuning.
const (
	// maxInFlight bounds concurrent delivery attempts, so one slow
	// endpoint does not hold up the others but a backlog cannot open
	// thousands of connections.
	maxInFlight = 8
	// leaseSlack is added to the attempt timeout for a claimed delivery's
	// lease: past it, a delivery whose process died is tried again.
	leaseSlack = 5 * time.Second
	// outboxPoll is the deliverer's safety-net wake-up.
	outboxPoll = 30 * time.Second
)

// deliverer sends the webhook outbox: signed POSTs, retried on the
// configured schedule with the same webhook-id, given up after the last.
type deliverer struct {
	store   *store
	log     *slog.Logger
	client  *http.Client
	retry   []time.Duration
	timeout time.Duration

	wake chan struct{}
}

func newDeliverer(st *store, retry []time.Duration, timeout time.Duration, log *slog.Logger) *deliverer {
	return &deliverer{
		store:   st,
		log:     log,
		retry:   retry,
		timeout: timeout,
		wake:    make(chan struct{}, 1),
		client: &http.Client{
			Timeout: timeout,
			// A redirect is an answer other than 2xx: retried, not followed,
			// so a signed body never goes to a URL nobody registered.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				MaxIdleConnsPerHost: 4,
				IdleConnTimeout:     30 * time.Second,
			},
		},
	}
}

// Wake tells the deliverer that a delivery was queued. It never blocks.
func (d *deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run sends due deliveries until ctx ends, then waits for attempts in
// flight (cut short, they stay due and are not counted).
func (d *deliverer) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer d.client.CloseIdleConnections()
	defer wg.Wait()
	slots := make(chan struct{}, maxInFlight)
	ticker := time.NewTicker(outboxPoll)
	defer ticker.Stop()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-ticker.C:
		case <-timer.C:
		}
		free := maxInFlight - len(slots)
		if free > 0 {
			due, err := d.store.ClaimDueDeliveries(ctx, free, d.timeout+leaseSlack)
			if err != nil && ctx.Err() == nil {
				d.log.Error("unable to read the outbox", "error", err)
			}
			for _, dl := range due {
				slots <- struct{}{}
				wg.Go(func() {
					defer func() { <-slots; d.Wake() }()
					d.attempt(ctx, dl)
				})
			}
		}
		// Sleep until the next delivery is due (leases included).
		if next, ok, err := d.store.NextDeliveryAt(ctx); err == nil && ok {
			timer.Reset(max(time.Until(next), time.Millisecond))
		}
	}
}

// attempt makes one signed POST and records its outcome.
func (d *deliverer) attempt(ctx context.Context, dl delivery) {
	log := d.log.With("msg_id", dl.MsgID, "webhook_id", dl.EndpointID, "event", dl.Event, "attempt", dl.Attempts+1)
	status, err := d.post(ctx, dl)
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if ctx.Err() != nil {
		// Stopping: this attempt does not count; it is due again at once
		// after the next start.
		if err := d.store.ReleaseDelivery(bg, dl); err != nil {
			log.Error("unable to release delivery", "error", err)
		}
		return
	}
	outcome := attemptOutcome{Delivered: err == nil}
	if err != nil {
		outcome.Error = err.Error()
		if dl.Attempts < len(d.retry) {
			outcome.RetryAt = d.store.now().Add(d.retry[dl.Attempts])
		}
	}
	if err := d.store.RecordAttempt(bg, dl, outcome); err != nil {
		log.Error("unable to record delivery attempt", "error", err)
		return
	}
	switch {
	case outcome.Delivered:
		log.Info("webhook delivered", "status", status)
	case !outcome.RetryAt.IsZero():
		log.Warn("webhook attempt failed, will retry", "error", err, "retry_at", outcome.RetryAt)
	default:
		log.Error("webhook given up after the last retry", "error", err)
	}
}

// post sends the payload with fresh Standard Webhooks headers; any answer
// but 2xx is an error.
func (d *deliverer) post(ctx context.Context, dl delivery) (int, error) {
	wh, err := standardwebhooks.NewWebhook(dl.Secret)
	if err != nil {
		return 0, fmt.Errorf("engine: bad secret for %s: %w", dl.EndpointID, err)
	}
	now := time.Now()
	signature, err := wh.Sign(dl.MsgID, now, dl.Payload)
	if err != nil {
		return 0, fmt.Errorf("engine: unable to sign %s: %w", dl.MsgID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.URL, bytes.NewReader(dl.Payload))
	if err != nil {
		return 0, fmt.Errorf("engine: bad webhook url: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "scribe-engine")
	req.Header.Set(standardwebhooks.HeaderWebhookID, dl.MsgID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, signature)
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	// Drain a little so the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, errors.New("endpoint answered " + resp.Status)
	}
	return resp.StatusCode, nil
}
