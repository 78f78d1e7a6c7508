// Package outbox delivers the events of users' jobs to their own webhook
// endpoints, signed with the Standard Webhooks scheme, from the durable
// outbox the store writes in the transaction of each job change: at least
// once, across crashes, with retries for about three days. It also guards
// where deliveries may go (no private, link-local or loopback addresses
// unless allowed) and makes endpoint secrets.
package outbox

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"scribe/job"
	"scribe/random"
	"scribe/store"
)

// The retry schedule: after the nth failed attempt the next waits
// RetryBase·2^(n−1), at most maxRetryDelay, each ±20 % at random so that
// endpoints coming back are not hit by every sender at once; a delivery
// still failing retryFor after its event (or a redelivery by hand) is
// given up. With the default base of 10 s that is about 23 attempts.
const (
	defaultRetryBase = 10 * time.Second
	maxRetryDelay    = 6 * time.Hour
	retryFor         = 72 * time.Hour
)

// maxResponseBytes is how much of an endpoint's answer is read; the rest
// is dropped with the connection.
const maxResponseBytes = 64 << 10

// logRetention is how long finished deliveries stay in the log.
const logRetention = 7 * 24 * time.Hour

// Config tunes a Dispatcher; zero fields take the defaults.
type Config struct {
	// AllowPrivate lets deliveries reach loopback and private addresses
	// (SCRIBE_WEBHOOK_ALLOW_PRIVATE).
	AllowPrivate bool
	// RetryBase is the wait after the first failed attempt (10 s); tests
	// shorten it.
	RetryBase time.Duration
	// Poll is how often due deliveries are looked for (1 s).
	Poll time.Duration
	// Timeout bounds one attempt, connection and answer included (10 s).
	Timeout time.Duration
	// Workers is how many attempts run at once (8), at most PerEndpoint
	// of them to one endpoint (2), so one slow endpoint cannot hold them all.
	Workers, PerEndpoint int
}

// Dispatcher sends due deliveries. Create it with New and start it with Run.
type Dispatcher struct {
	store   *store.Store
	jobData func(job.Job) any
	log     *slog.Logger
	cfg     Config
	clients map[string]*http.Client // by URL scheme
	freed   chan struct{}           // an attempt ended: there is room for more

	mu       sync.Mutex
	inFlight map[string]int // attempts under way, by endpoint
	total    int
}

// New returns a Dispatcher that renders a job event's data with jobData
// (the job as the JSON API shows it); nothing runs until Run.
func New(s *store.Store, cfg Config, jobData func(job.Job) any, log *slog.Logger) *Dispatcher {
	cfg.RetryBase = cmp.Or(cfg.RetryBase, defaultRetryBase)
	cfg.Poll = cmp.Or(cfg.Poll, time.Second)
	cfg.Timeout = cmp.Or(cfg.Timeout, 10*time.Second)
	cfg.Workers = cmp.Or(cfg.Workers, 8)
	cfg.PerEndpoint = cmp.Or(cfg.PerEndpoint, 2)
	d := &Dispatcher{store: s, jobData: jobData, log: log, cfg: cfg, freed: make(chan struct{}, 1),
		inFlight: map[string]int{}, clients: map[string]*http.Client{}}
	for _, scheme := range []string{"http", "https"} {
		dialer := guardedDialer(net.Dialer{Timeout: cfg.Timeout}, scheme, cfg.AllowPrivate)
		d.clients[scheme] = &http.Client{
			Timeout: cfg.Timeout,
			// No proxy from the environment: it would dial for us, past the guard.
			Transport: &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: cfg.Timeout,
				ForceAttemptHTTP2: true, MaxIdleConnsPerHost: cfg.PerEndpoint, IdleConnTimeout: 90 * time.Second},
			// A redirect is an answer, not a new target: it could point anywhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return d
}

// NewSecret makes an endpoint's signing secret: "whsec_" and 32 random
// bytes in base64, as Standard Webhooks spells them.
func NewSecret() string { return "whsec_" + random.Base64(32) }

// Run sends due deliveries until ctx ends, then waits for the attempts
// under way, which ctx cancels; those are not counted and go out again
// after the next start.
func (d *Dispatcher) Run(ctx context.Context) error {
	if err := d.store.ReleaseHookDeliveries(ctx); err != nil {
		return err
	}
	var attempts sync.WaitGroup
	defer func() {
		attempts.Wait()
		for _, c := range d.clients {
			c.CloseIdleConnections()
		}
	}()
	poll := time.NewTicker(d.cfg.Poll)
	defer poll.Stop()
	var pruned time.Time
	for {
		d.dispatch(ctx, &attempts)
		if now := d.store.Now(); now.Sub(pruned) > time.Hour {
			pruned = now
			if n, err := d.store.PruneHookDeliveries(ctx, now.Add(-logRetention)); err != nil {
				d.log.Error("outbox: unable to prune the delivery log", "error", err)
			} else if n > 0 {
				d.log.Info("outbox: pruned the delivery log", "deliveries", n)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
		case <-d.freed:
		}
	}
}

// dispatch claims as many due deliveries as there is room for and starts
// an attempt for each.
func (d *Dispatcher) dispatch(ctx context.Context, attempts *sync.WaitGroup) {
	d.mu.Lock()
	room := d.cfg.Workers - d.total
	d.mu.Unlock()
	if room <= 0 {
		return
	}
	taking := map[string]int{}
	claimed, err := d.store.ClaimHookDeliveries(ctx, room, d.cfg.Timeout+time.Minute, func(del store.HookDelivery) bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.inFlight[del.EndpointID]+taking[del.EndpointID] >= d.cfg.PerEndpoint {
			return false
		}
		taking[del.EndpointID]++
		return true
	})
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("outbox: unable to claim deliveries", "error", err)
		}
		return
	}
	d.mu.Lock()
	for _, del := range claimed {
		d.inFlight[del.EndpointID]++
		d.total++
	}
	d.mu.Unlock()
	for _, del := range claimed {
		attempts.Go(func() {
			d.attempt(ctx, del)
			d.mu.Lock()
			if d.inFlight[del.EndpointID]--; d.inFlight[del.EndpointID] == 0 {
				delete(d.inFlight, del.EndpointID)
			}
			d.total--
			d.mu.Unlock()
			select {
			case d.freed <- struct{}{}:
			default:
			}
		})
	}
}

// attempt sends one delivery and records how it went.
func (d *Dispatcher) attempt(ctx context.Context, del store.HookDelivery) {
	status, failure := d.send(ctx, del)
	if ctx.Err() != nil {
		return // shutting down: not the endpoint's failure
	}
	a := store.HookAttempt{At: d.store.Now(), Status: status, State: store.DeliveryDelivered}
	if failure != nil {
		a.Error = failure.Error()
		a.State, a.Next = d.retry(a.At, del)
		d.log.Info("outbox: delivery failed", "delivery_id", del.ID, "webhook_id", del.MessageID,
			"endpoint_id", del.EndpointID, "attempt", del.Attempts+1, "status", status, "error", a.Error, "state", a.State)
	}
	if err := d.store.RecordHookAttempt(ctx, del.ID, a); err != nil {
		d.log.Error("outbox: unable to record an attempt", "delivery_id", del.ID, "error", err)
	}
}

// retry is a delivery's state after a failed attempt at now, and when it
// is pending, the time of its next attempt.
func (d *Dispatcher) retry(now time.Time, del store.HookDelivery) (string, time.Time) {
	// The shift stops at 20 so that it cannot overflow; 6 h is reached long before.
	wait := min(d.cfg.RetryBase<<min(del.Attempts, 20), maxRetryDelay)
	next := now.Add(time.Duration(float64(wait) * (0.8 + 0.4*rand.Float64())))
	if next.After(del.RetryFrom.Add(retryFor)) {
		return store.DeliveryFailed, time.Time{}
	}
	return store.DeliveryPending, next
}

// send makes one attempt: it signs the event and posts it, reads at most
// maxResponseBytes of the answer, and returns its status and, unless it
// is 2xx, why it failed.
func (d *Dispatcher) send(ctx context.Context, del store.HookDelivery) (int, error) {
	body, err := d.body(del)
	if err != nil {
		return 0, err
	}
	u, err := url.Parse(del.URL)
	if err != nil || d.clients[u.Scheme] == nil {
		return 0, fmt.Errorf("the endpoint URL %q cannot be reached", del.URL)
	}
	wh, err := standardwebhooks.NewWebhook(del.Secret)
	if err != nil {
		return 0, fmt.Errorf("the endpoint's secret is corrupt: %w", err)
	}
	at := d.store.Now()
	signature, err := wh.Sign(del.MessageID, at, body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, del.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "scribe-webhooks")
	req.Header.Set(standardwebhooks.HeaderWebhookID, del.MessageID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, signature)
	resp, err := d.clients[u.Scheme].Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is on the page already
		}
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			return 0, fmt.Errorf("no answer within %v", d.cfg.Timeout)
		}
		return 0, err
	}
	defer resp.Body.Close()
	answer, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	if readErr != nil {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, fmt.Errorf("HTTP %d%s", resp.StatusCode, excerpt(answer))
}

// excerpt is the start of an endpoint's answer, on one line, for the log.
func excerpt(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(b[:min(len(b), 200)]), ""))
	if s = strings.Join(strings.Fields(s), " "); s == "" {
		return ""
	}
	return ": " + s
}

// payload is an event's body.
type payload struct {
	Type      job.Event `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// body is the delivery's event as JSON; the same on every attempt.
func (d *Dispatcher) body(del store.HookDelivery) ([]byte, error) {
	p := payload{Type: del.Event, Timestamp: del.OccurredAt.UTC()}
	if del.Job != nil {
		p.Data = d.jobData(*del.Job)
	} else {
		p.Data = map[string]string{"endpoint_id": del.EndpointID, "message": "A test event from scribe."}
	}
	return json.Marshal(p)
}
