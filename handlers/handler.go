// Package handlers is scribe's HTTP surface: pages, job actions, browser
// event streams and the upstream's webhook receiver. Handlers load, check
// ownership, validate, act and respond; state changes live in store and
// relay.
package handlers

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"scribe/deepscript"
	"scribe/disk"
	"scribe/eventstream"
	"scribe/media"
	"scribe/metrics"
	"scribe/relay"
	"scribe/store"
)

// Config holds the handlers' settings.
type Config struct {
	// UploadDir is where uploaded audio is kept, under generated names.
	UploadDir string
	// MaxUploadBytes caps one upload request.
	MaxUploadBytes int64
	// SecureCookies marks cookies Secure (when served over https).
	SecureCookies bool
	// SessionKeys are hash/block key pairs, newest first.
	SessionKeys [][]byte
	// MinFreeBytes is the disk space an upload must leave free.
	MinFreeBytes int64
	// Limits bound what one user may ask at once.
	Limits Limits
	// EngineName says what transcribes, for the JSON download.
	EngineName string
	// Signup is who may create an account: SignupOpen, SignupInvite or SignupClosed.
	Signup string
	// PublicURL is the app's base URL, for the links admins hand out.
	PublicURL string
	// MetricsToken, when set, serves GET /metrics to requests carrying
	// "Authorization: Bearer" and it; when empty, /metrics is not routed
	// (MetricsRoutes serves it on a listener of its own).
	MetricsToken string
	// WebhookAllowPrivate lets users register webhook endpoints on
	// loopback and private addresses, over http too.
	WebhookAllowPrivate bool
}

// The sign-up policies.
const (
	SignupOpen   = "open"   // anyone who reaches the app
	SignupInvite = "invite" // with an admin's invitation; the first account needs none
	SignupClosed = "closed" // nobody
)

// Deps are the components the handlers use.
type Deps struct {
	Store    *store.Store
	Relay    *relay.Relay
	Client   *deepscript.Client
	Metrics  *metrics.Metrics
	Log      *slog.Logger
	Probe    func(ctx context.Context, path string) (media.Info, error)
	Free     func(dir string) (uint64, error) // free disk space; disk.Free unless a test says otherwise
	Shutdown <-chan struct{}                  // closed when the server starts draining
}

// Handler holds the dependencies of every route.
type Handler struct {
	Deps
	cfg       Config
	sessions  *cachingCookieStore
	cookie    string // the session cookie's name
	webhooks  *webhookGate
	throttle  *throttle
	passwords passwordWork
	health    health
	keepAlive *eventstream.Heartbeat // when event streams ping
	streams   sync.WaitGroup         // event streams detached from their handlers
	snapshots frameCache             // encoded events of states snapshots sent
}

// New returns a Handler.
func New(cfg Config, d Deps) *Handler {
	if d.Probe == nil {
		d.Probe = media.Probe
	}
	if d.Free == nil {
		d.Free = disk.Free
	}
	h := &Handler{Deps: d, cfg: cfg, cookie: sessionCookie(cfg),
		webhooks: newWebhookGate(d.Log), passwords: newPasswordWork(),
		keepAlive: eventstream.NewHeartbeat(pingEvery)}
	h.throttle = newThrottle(func() time.Time { return h.Store.Now() })
	h.sessions = newSessionStore(cfg, func() time.Time { return h.Store.Now() })
	return h
}
