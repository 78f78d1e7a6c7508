package deepscript

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// WebhookTolerance is how far a delivery's webhook-timestamp may be from
// now, in either direction, per the contract.
const WebhookTolerance = 300 * time.Second

// Reasons VerifyWebhook refuses a delivery; any of them means answer 401.
var (
	ErrWebhookHeaders   = errors.New("deepscript: webhook headers missing or malformed")
	ErrWebhookTimestamp = errors.New("deepscript: webhook timestamp outside tolerance")
	ErrWebhookSignature = errors.New("deepscript: webhook signature does not match")
)

// VerifyWebhook checks a delivery's Standard Webhooks signature: body must
// be the raw bytes received, secret the endpoint's "whsec_…" secret, and
// now the receiver's clock. It refuses a webhook-timestamp more than
// WebhookTolerance from now (either way) and passes when any one of the
// space-separated v1 signatures matches, compared in constant time.
//
// It does not remember webhook-ids: the receiver dedupes them durably.
// A receiver of many deliveries keeps a WebhookVerifier instead.
func VerifyWebhook(secret string, header http.Header, body []byte, now time.Time) error {
	v, err := NewWebhookVerifier(secret)
	if err != nil {
		return err
	}
	return v.Verify(header, body, now)
}

// WebhookVerifier verifies deliveries signed with one endpoint secret,
// decoded once rather than per delivery. It is safe for concurrent use.
type WebhookVerifier struct {
	secret string
	key    []byte
}

// NewWebhookVerifier returns a verifier for secret ("whsec_…").
func NewWebhookVerifier(secret string) (*WebhookVerifier, error) {
	encoded := strings.TrimPrefix(secret, "whsec_")
	if encoded == "" {
		return nil, errors.New("deepscript: empty webhook secret")
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("deepscript: unusable webhook secret: %w", err)
	}
	return &WebhookVerifier{secret: secret, key: key}, nil
}

// Secret is the secret v verifies with.
func (v *WebhookVerifier) Secret() string { return v.secret }

// Verify checks one delivery as VerifyWebhook does.
func (v *WebhookVerifier) Verify(header http.Header, body []byte, now time.Time) error {
	if err := CheckWebhookHeaders(header, now); err != nil {
		return err
	}
	secs, _ := strconv.ParseInt(header.Get(standardwebhooks.HeaderWebhookTimestamp), 10, 64) // checked above
	// The signed content is "id.timestamp.body", fed to the MAC in pieces:
	// the library joins it with Sprintf and converts it twice, four copies
	// of a body of up to 16 MiB that the receiver's memory budget for
	// unverified bodies does not count.
	mac := hmac.New(sha256.New, v.key)
	fmt.Fprintf(mac, "%s.%d.", header.Get(standardwebhooks.HeaderWebhookID), secs)
	mac.Write(body)
	want := []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	for _, versioned := range strings.Split(header.Get(standardwebhooks.HeaderWebhookSignature), " ") {
		version, sig, _ := strings.Cut(versioned, ",")
		if version == "v1" && hmac.Equal([]byte(sig), want) {
			return nil
		}
	}
	return ErrWebhookSignature
}

// CheckWebhookHeaders is the part of VerifyWebhook that needs no body: the
// three headers are present and webhook-timestamp is within
// WebhookTolerance of now. A receiver calls it before reading a body, so a
// stale or unsigned delivery costs nothing.
func CheckWebhookHeaders(header http.Header, now time.Time) error {
	// The timestamp is checked here rather than by the library's Verify
	// because Verify reads time.Now itself; this check mirrors its rule
	// (strictly more than 5 min off, either way, fails).
	ts := header.Get(standardwebhooks.HeaderWebhookTimestamp)
	if header.Get(standardwebhooks.HeaderWebhookID) == "" || ts == "" ||
		header.Get(standardwebhooks.HeaderWebhookSignature) == "" {
		return ErrWebhookHeaders
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: webhook-timestamp %q", ErrWebhookHeaders, ts)
	}
	if d := now.Sub(time.Unix(secs, 0)); d > WebhookTolerance || d < -WebhookTolerance {
		return fmt.Errorf("%w: %s off", ErrWebhookTimestamp, d.Round(time.Second))
	}
	return nil
}
