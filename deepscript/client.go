package deepscript

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Response size caps: a finished transcript can be large, everything else
// is small.
const (
	maxResultBody = 32 << 20
	maxJSONBody   = 1 << 20
)

// Client calls the DeepScript API v1. It is safe for concurrent use; its
// exported fields must be set before the first call.
type Client struct {
	baseURL string
	apiKey  string
	http    *http.Client
	reach   reachability

	opensOnce sync.Once
	opens     *rate.Limiter // see streamLimiter

	// CallTimeout bounds each JSON call (everything but uploads and event
	// streams); 0 means only the caller's context bounds it.
	CallTimeout time.Duration
	// Stream tunes StreamEvents.
	Stream StreamOptions
	// Logger receives what the client drops rather than returns (an
	// unreadable event, a reconnect).
	Logger *slog.Logger
	// Now is the clock used to read Retry-After dates.
	Now func() time.Time
}

// New returns a client for the API at baseURL (for example
// "https://api.deepscript.example" or "http://127.0.0.1:8700") that
// authenticates with apiKey.
//
// httpClient carries the JSON calls and uploads; nil means a client whose
// transport bounds dialing, TLS and waiting for response headers, while
// CallTimeout (30 s) bounds each JSON call. Uploads are bounded only by the
// caller's context, since a large file may take long to send. Event
// streams use httpClient's transport but never its Timeout (see
// StreamOptions).
func New(baseURL, apiKey string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Transport: defaultTransport()}
	}
	return &Client{
		baseURL:     strings.TrimRight(baseURL, "/"),
		apiKey:      apiKey,
		http:        httpClient,
		CallTimeout: 30 * time.Second,
		Stream:      DefaultStreamOptions(),
		Logger:      slog.Default(),
		Now:         time.Now,
	}
}

func defaultTransport() *http.Transport {
	return &http.Transport{
		Proxy:             http.ProxyFromEnvironment,
		DialContext:       (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2: true,
		MaxIdleConns:      16,
		// Every call goes to one host: keep as many idle connections for
		// it as concurrent polls and webhooks-driven fetches use, instead
		// of the default 2, which closes and redials the rest each time.
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Counted from the end of the request body, so it does not limit
		// uploads; it catches a server that accepts and then says nothing.
		ResponseHeaderTimeout: 2 * time.Minute,
	}
}

// endpoint joins the base URL with a path built from escaped segments.
func (c *Client) endpoint(segments ...string) string {
	var b strings.Builder
	b.WriteString(c.baseURL)
	b.WriteString("/v1")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

func (c *Client) setHeaders(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "scribe-deepscript/1")
}

// doJSON sends a JSON call and decodes a 2xx answer into out (unless out is
// nil). in, when non-nil, is sent as the JSON body.
func (c *Client) doJSON(ctx context.Context, method, url string, in, out any, limit int64) error {
	if c.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.CallTimeout)
		defer cancel()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("deepscript: unable to encode %s %s: %w", method, url, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return fmt.Errorf("deepscript: unable to build %s request: %w", method, err)
	}
	c.setHeaders(req)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	c.observe(ctx, resp, err)
	if err != nil {
		return fmt.Errorf("deepscript: %s %s: %w", method, url, err)
	}
	return c.decode(resp, out, limit)
}

// decode turns a response into out or an *APIError, reading at most limit
// bytes, and closes the body.
func (c *Client) decode(resp *http.Response, out any, limit int64) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(resp, c.Now())
	}
	defer resp.Body.Close()
	if out == nil {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("deepscript: unable to read %s answer: %w", resp.Request.URL.Path, err)
	}
	if int64(len(b)) > limit {
		return fmt.Errorf("deepscript: %s answer is over %d bytes", resp.Request.URL.Path, limit)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("deepscript: unable to decode %s answer: %w", resp.Request.URL.Path, err)
	}
	return nil
}

func (c *Client) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}
