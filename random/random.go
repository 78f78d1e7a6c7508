// Package random makes the random strings scribe uses as ids, keys and
// nonces, from crypto/rand. crypto/rand.Read never returns an error (since
// Go 1.24 it crashes the program if the system cannot supply randomness),
// so nothing here returns one either.
package random

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
)

// Hex returns n random bytes as 2n hex characters.
func Hex(n int) string {
	return hex.EncodeToString(read(n))
}

// Base64 returns n random bytes in standard base64 with padding.
func Base64(n int) string {
	return base64.StdEncoding.EncodeToString(read(n))
}

// ID returns prefix followed by 16 random hex characters (64 bits), the
// form of every id scribe makes: "j_…", "tr_…", "msg_…".
func ID(prefix string) string {
	return prefix + Hex(8)
}

func read(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // documented never to return an error
	return b
}
