package handlers

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"scribe/store/storetest"
)

// postForm is a form POST as a browser sends it.
func postForm(path string, form url.Values) *http.Request {
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func TestAccounts(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, unreachable())
	storetest.User(t, h.Store, "ada@example.com")
	for _, tc := range []struct {
		name, path, email, password string
		want                        int
		message                     string
	}{
		{"BadEmail", "/signup", "not-an-email", "long enough pw", http.StatusBadRequest, "valid email"},
		{"ShortPassword", "/signup", "bo@example.com", "short", http.StatusBadRequest, "at least 8"},
		{"LongPassword", "/signup", "bo@example.com", strings.Repeat("x", 73), http.StatusBadRequest, "at most 72"},
		{"EmailTaken", "/signup", "ada@example.com", "long enough pw", http.StatusConflict, "already exists"},
		{"SignUp", "/signup", "bo@example.com", "long enough pw", http.StatusSeeOther, ""},
		{"WrongPassword", "/login", "ada@example.com", "wrong password", http.StatusUnauthorized, "Wrong email or password"},
		{"UnknownEmail", "/login", "nobody@example.com", storetest.Password, http.StatusUnauthorized, "Wrong email or password"},
		{"LogIn", "/login", "ada@example.com", storetest.Password, http.StatusSeeOther, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(h, postForm(tc.path, url.Values{"email": {tc.email}, "password": {tc.password}}), nil)
			if got, want := rec.Code, tc.want; got != want {
				t.Fatalf("status %d, want %d: %.300s", got, want, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.message) {
				t.Fatalf("body lacks %q: %.300s", tc.message, rec.Body)
			}
			if tc.want != http.StatusSeeOther {
				return
			}
			if got, want := rec.Header().Get("Location"), "/"; got != want {
				t.Errorf("redirect to %q, want %q", got, want)
			}
			home := serve(h, httptest.NewRequest("GET", "/", nil), cookieSet(t, rec))
			if home.Code != http.StatusOK || !strings.Contains(home.Body.String(), tc.email) {
				t.Errorf("home page with the new session: %d, signed in as %s: %v", home.Code, tc.email, strings.Contains(home.Body.String(), tc.email))
			}
		})
	}
	t.Run("SignedOut", func(t *testing.T) {
		rec := serve(h, httptest.NewRequest("GET", "/", nil), nil)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
			t.Fatalf("GET / signed out: %d → %q, want 303 to /login", rec.Code, rec.Header().Get("Location"))
		}
		for _, path := range []string{"/events", "/jobs/j_0000/events", "/jobs/j_0000/transcript.txt", "/jobs/j_0000/audio"} {
			if rec := serve(h, httptest.NewRequest("GET", path, nil), nil); rec.Code != http.StatusUnauthorized {
				t.Errorf("GET %s signed out: %d, want 401", path, rec.Code)
			}
		}
		req := httptest.NewRequest("GET", "/jobs/j_0000", nil)
		req.Header.Set("Accept", "application/json")
		if rec := serve(h, req, nil); rec.Code != http.StatusUnauthorized {
			t.Errorf("GET /jobs/{id} as JSON signed out: %d, want 401", rec.Code)
		}
	})
	t.Run("LogoutRevokesCopiedCookie", func(t *testing.T) {
		grace := signedIn(t, h, storetest.User(t, h.Store, "grace@example.com"))
		copied := *grace
		if rec := serve(h, httptest.NewRequest("GET", "/", nil), &copied); rec.Code != http.StatusOK {
			t.Fatalf("copied cookie before log-out: %d, want 200", rec.Code)
		}
		rec := serve(h, httptest.NewRequest("POST", "/logout", nil), grace)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
			t.Fatalf("log-out: %d → %q, want 303 to /login", rec.Code, rec.Header().Get("Location"))
		}
		if c := cookieSet(t, rec); c.MaxAge >= 0 {
			t.Errorf("log-out set the cookie with Max-Age %d, want it deleted", c.MaxAge)
		}
		rec = serve(h, httptest.NewRequest("GET", "/", nil), &copied)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
			t.Fatalf("copied cookie after log-out: %d → %q, want 303 to /login", rec.Code, rec.Header().Get("Location"))
		}
	})
	t.Run("TamperedCookie", func(t *testing.T) {
		rec := serve(h, httptest.NewRequest("GET", "/", nil), &http.Cookie{Name: sessionName, Value: "garbage"})
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("tampered cookie: %d, want 303 to log in", rec.Code)
		}
	})
}

// TestSessionCookie checks the flags of the cookie logging in sets.
func TestSessionCookie(t *testing.T) {
	base := newTestHandler(t, unreachable())
	storetest.User(t, base.Store, "ada@example.com")
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP", true: "HTTPS"}[secure], func(t *testing.T) {
			cfg := base.cfg
			cfg.SecureCookies = secure
			h := New(cfg, base.Deps)
			rec := serve(h, postForm("/login", url.Values{"email": {"ada@example.com"}, "password": {storetest.Password}}), nil)
			c := cookieSet(t, rec)
			if got, want := c.Secure, secure; got != want {
				t.Errorf("Secure %v, want %v", got, want)
			}
			if !c.HttpOnly {
				t.Error("the session cookie is readable by scripts")
			}
			if got, want := c.SameSite, http.SameSiteLaxMode; got != want {
				t.Errorf("SameSite %v, want Lax", got)
			}
			if got, want := c.Path, "/"; got != want {
				t.Errorf("Path %q, want %q", got, want)
			}
			if got, want := c.Name, map[bool]string{false: "scribe", true: "__Host-scribe"}[secure]; got != want {
				t.Errorf("cookie name %q, want %q", got, want)
			}
			// The cookie lasts the idle timeout; each use renews it.
			if got, want := time.Duration(c.MaxAge)*time.Second, 7*24*time.Hour; got != want {
				t.Errorf("Max-Age %v, want %v", got, want)
			}
		})
	}
}
