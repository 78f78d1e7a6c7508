package handlers

import (
	"net/http/httptest"
	"testing"

	"scribe/store/storetest"
)

// TestDecodedCookies shows a session cookie decoded once serves later
// requests from memory, each with its own copy of the values, while a
// tampered cookie still decodes to nothing.
func TestDecodedCookies(t *testing.T) {
	h := newTestHandler(t, unreachable())
	cookie := signedIn(t, h, storetest.User(t, h.Store, "ada@example.com"))
	open := func() map[any]any {
		t.Helper()
		req := httptest.NewRequest("GET", "/events", nil)
		req.AddCookie(cookie)
		s, err := h.sessions.New(req, h.cookie)
		if err != nil {
			t.Fatal(err)
		}
		return s.Values
	}
	first := open()
	if got, want := len(h.sessions.decoded), 1; got != want {
		t.Fatalf("%d cookies remembered, want %d", got, want)
	}
	first[sessionUserID] = int64(999)
	if got := open()[sessionUserID]; got == int64(999) {
		t.Fatal("a change to one request's session reached the next")
	}
	tampered := *cookie
	tampered.Value = cookie.Value[:len(cookie.Value)-2] + "xx"
	req := httptest.NewRequest("GET", "/events", nil)
	req.AddCookie(&tampered)
	if u, ok := h.currentUser(req); ok {
		t.Fatalf("a tampered cookie signed in %s", u.Email)
	}
}
