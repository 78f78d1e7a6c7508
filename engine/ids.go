package engine

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
)

// newID returns prefix followed by 16 hex characters from crypto/rand:
// tr_…, we_…, msg_….
func newID(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return prefix + hex.EncodeToString(b)
}

// newSecret returns a webhook signing secret: "whsec_" and the base64 of 32
// random bytes, the form the Standard Webhooks libraries expect.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}
