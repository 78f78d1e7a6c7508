package random

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestHex(t *testing.T) {
	a, b := Hex(24), Hex(24)
	if got, want := len(a), 48; got != want {
		t.Fatalf("len(Hex(24)) = %d, want %d", got, want)
	}
	if raw, err := hex.DecodeString(a); err != nil || len(raw) != 24 {
		t.Fatalf("Hex(24) = %q: not 24 hex-encoded bytes (%v)", a, err)
	}
	if a == b {
		t.Fatalf("two calls both gave %q", a)
	}
}

func TestBase64(t *testing.T) {
	a, b := Base64(32), Base64(32)
	raw, err := base64.StdEncoding.DecodeString(a)
	if err != nil {
		t.Fatalf("Base64(32) = %q: %v", a, err)
	}
	if got, want := len(raw), 32; got != want {
		t.Fatalf("Base64(32) decodes to %d bytes, want %d", got, want)
	}
	if a == b {
		t.Fatalf("two calls both gave %q", a)
	}
}

func TestID(t *testing.T) {
	id := ID("tr_")
	rest, ok := strings.CutPrefix(id, "tr_")
	if !ok {
		t.Fatalf("ID(%q) = %q, want the prefix first", "tr_", id)
	}
	if _, err := hex.DecodeString(rest); err != nil || len(rest) != 16 {
		t.Fatalf("ID(%q) = %q, want 16 hex characters after the prefix", "tr_", id)
	}
	if other := ID("tr_"); other == id {
		t.Fatalf("two calls both gave %q", id)
	}
}
