package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/crypto/bcrypt"

	"scribe/job"
	"scribe/store"
)

const goodPassword = "correct horse battery"

// TestMain makes bcrypt cheap: these tests check hundreds of passwords
// under the race detector.
func TestMain(m *testing.M) {
	if os.Getenv(streamClientsEnv) != "" {
		os.Exit(runStreamClients()) // BenchmarkEventStreams's client process
	}
	bcryptCost = bcrypt.MinCost
	os.Exit(m.Run())
}

// clock is a test's time: every handler and store call reads it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// withClock makes h's store (and so its throttle and sessions) run on a
// test clock.
func withClock(h *Handler) *clock {
	c := &clock{t: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	h.Store.Now = c.now
	return c
}

// send makes a request from addr, with cookies, and returns the answer.
func send(h http.Handler, method, path string, form url.Values, addr string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	req.RemoteAddr = addr + ":40000"
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func credentials(email, password string) url.Values {
	return url.Values{"email": {email}, "password": {password}}
}

// sessionOf is the session cookie an answer set, or nil.
func sessionOf(rec *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if strings.HasSuffix(c.Name, sessionName) && c.MaxAge >= 0 {
			return c
		}
	}
	return nil
}

// expect fails the test unless rec has status want and its body contains text.
func expect(t *testing.T, what string, rec *httptest.ResponseRecorder, want int, text string) {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("%s: status %d, want %d: %s", what, rec.Code, want, firstLine(rec.Body.String()))
	}
	if !strings.Contains(rec.Body.String(), text) {
		t.Fatalf("%s: body lacks %q", what, text)
	}
}

// firstLine keeps failure messages short: the error message if the page has one.
func firstLine(body string) string {
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err == nil {
		if msg := strings.TrimSpace(doc.Find(`[data-testid="form-error"], h1`).First().Text()); msg != "" {
			return msg
		}
	}
	return body[:min(len(body), 200)]
}

// login signs email in from addr and returns the session cookie.
func login(t *testing.T, h http.Handler, email, password, addr string) *http.Cookie {
	t.Helper()
	rec := send(h, "POST", "/login", credentials(email, password), addr)
	expect(t, "log in as "+email, rec, http.StatusSeeOther, "")
	return sessionOf(rec)
}

// signedInStatus is what GET / answers the cookie: 200 while its session works.
func signedInStatus(h http.Handler, c *http.Cookie) int {
	return send(h, "GET", "/", nil, "192.0.2.1", c).Code
}

func TestLoginThrottle(t *testing.T) {
	t.Run("WaitThenRecover", func(t *testing.T) {
		h := newTestHandler(t, unreachable())
		clk := withClock(h)
		routes := h.Routes()
		signUp(t, routes, "ada@example.com")
		for i := range pairFreeFailures {
			expect(t, fmt.Sprintf("wrong password %d", i+1), send(routes, "POST", "/login", credentials("ada@example.com", "wrong"), "198.51.100.7"),
				http.StatusUnauthorized, "Wrong email or password")
		}
		// Even the right password waits now: a guess that hit would otherwise
		// be told apart.
		rec := send(routes, "POST", "/login", credentials("ada@example.com", goodPassword), "198.51.100.7")
		expect(t, "right password while waiting", rec, http.StatusTooManyRequests, "Too many attempts. Try again in 1 second.")
		if got, want := rec.Header().Get("Retry-After"), "1"; got != want {
			t.Fatalf("Retry-After %q, want %q", got, want)
		}
		clk.advance(time.Second)
		expect(t, "another wrong password after the wait", send(routes, "POST", "/login", credentials("ada@example.com", "wrong"), "198.51.100.7"),
			http.StatusUnauthorized, "")
		rec = send(routes, "POST", "/login", credentials("ada@example.com", goodPassword), "198.51.100.7")
		if got, want := rec.Header().Get("Retry-After"), "2"; rec.Code != http.StatusTooManyRequests || got != want {
			t.Fatalf("after one more failure: %d with Retry-After %q, want 429 with %q (the wait doubles)", rec.Code, got, want)
		}
		clk.advance(2 * time.Second)
		login(t, routes, "ada@example.com", goodPassword, "198.51.100.7")
	})

	t.Run("ForgottenAfterAQuietHour", func(t *testing.T) {
		h := newTestHandler(t, unreachable())
		clk := withClock(h)
		routes := h.Routes()
		signUp(t, routes, "ada@example.com")
		for range 16 { // waits doubling from 1 s pass 15 min after 11 past the free 5
			send(routes, "POST", "/login", credentials("ada@example.com", "wrong"), "198.51.100.7")
			clk.advance(failureMaxWait)
		}
		clk.advance(-failureMaxWait)
		expect(t, "at the longest wait", send(routes, "POST", "/login", credentials("ada@example.com", goodPassword), "198.51.100.7"),
			http.StatusTooManyRequests, "Try again in 15 minutes")
		clk.advance(failureMemory + time.Second)
		for i := range pairFreeFailures {
			expect(t, fmt.Sprintf("wrong password %d after the quiet hour", i+1),
				send(routes, "POST", "/login", credentials("ada@example.com", "wrong"), "198.51.100.7"), http.StatusUnauthorized, "")
		}
	})

	// The owner's usual address is not blocked by failures from others, even
	// a distributed attack that makes the account wait everywhere else.
	t.Run("OwnerNotLockedOut", func(t *testing.T) {
		h := newTestHandler(t, unreachable())
		withClock(h)
		routes := h.Routes()
		signUp(t, routes, "ada@example.com")
		login(t, routes, "ada@example.com", goodPassword, "192.0.2.10")
		for a := range 10 {
			for range pairFreeFailures {
				send(routes, "POST", "/login", credentials("ada@example.com", "guess"), fmt.Sprintf("203.0.113.%d", a))
			}
		}
		expect(t, "the right password from a new address during the attack",
			send(routes, "POST", "/login", credentials("ada@example.com", goodPassword), "198.51.100.99"), http.StatusTooManyRequests, "")
		login(t, routes, "ada@example.com", goodPassword, "192.0.2.10")
	})

	t.Run("OneAddressManyAccounts", func(t *testing.T) {
		h := newTestHandler(t, unreachable())
		withClock(h)
		routes := h.Routes()
		signUp(t, routes, "ada@example.com")
		for i := range addressFreeFailures {
			send(routes, "POST", "/login", credentials(fmt.Sprintf("user%d@example.com", i), "guess"), "203.0.113.5")
		}
		expect(t, "a fresh account from a spraying address", send(routes, "POST", "/login", credentials("ada@example.com", goodPassword), "203.0.113.5"),
			http.StatusTooManyRequests, "")
		login(t, routes, "ada@example.com", goodPassword, "192.0.2.10")
	})

	// Unknown emails are throttled exactly like real ones, so the throttle
	// does not tell which emails have accounts.
	t.Run("UnknownEmailAlike", func(t *testing.T) {
		h := newTestHandler(t, unreachable())
		withClock(h)
		routes := h.Routes()
		for range pairFreeFailures {
			expect(t, "unknown email", send(routes, "POST", "/login", credentials("nobody@example.com", "guess"), "203.0.113.5"),
				http.StatusUnauthorized, "Wrong email or password")
		}
		expect(t, "unknown email after the free failures", send(routes, "POST", "/login", credentials("nobody@example.com", "guess"), "203.0.113.5"),
			http.StatusTooManyRequests, "")
	})
}

func TestThrottleMemoryBounded(t *testing.T) {
	defer func(n int) { throttleEntries = n }(throttleEntries)
	throttleEntries = 100
	clk := &clock{t: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	th := newThrottle(clk.now)
	for i := range 1000 {
		th.loginFailed(fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("10.0.%d.%d", i/256, i%256))
		th.signupWait(fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("10.0.%d.%d", i/256, i%256))
	}
	for name, n := range map[string]int{"pairs": len(th.pairs.m), "addresses": len(th.addresses.m), "accounts": len(th.accounts.m),
		"signup addresses": len(th.signupAddress.m), "signup accounts": len(th.signupAccounts.m)} {
		if n > throttleEntries {
			t.Errorf("%s: %d entries, want at most %d", name, n, throttleEntries)
		}
	}
	clk.advance(failureMemory + time.Second)
	th.loginFailed("last@example.com", "10.9.9.9")
	th.pairs.makeRoom(clk.now())
	if got := len(th.pairs.m); got != 1 {
		t.Errorf("after the failures expired: %d pair entries, want 1", got)
	}
}

func TestSourceAddress(t *testing.T) {
	for name, tc := range map[string]struct {
		remote, forwarded, want string
	}{
		"Peer":              {"203.0.113.5:1234", "", "203.0.113.5"},
		"ForwardedIgnored":  {"203.0.113.5:1234", "198.51.100.1", "203.0.113.5"},
		"LocalProxy":        {"127.0.0.1:1234", "10.1.1.1, 198.51.100.1", "198.51.100.1"},
		"IPv6By64":          {"[2001:db8:1:2:3:4:5:6]:1234", "", "2001:db8:1:2::/64"},
		"IPv4MappedIPv6":    {"[::ffff:203.0.113.5]:1234", "", "203.0.113.5"},
		"ProxyBadForwarded": {"[::1]:1234", "garbage", "::/64"},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.forwarded != "" {
				r.Header.Set("X-Forwarded-For", tc.forwarded)
			}
			if got := sourceAddress(r); got != tc.want {
				t.Fatalf("sourceAddress = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPasswordWorkBounded fills every password slot, as a flood of log-ins
// would: the next log-in waits briefly, then is told to retry.
func TestPasswordWorkBounded(t *testing.T) {
	defer func(d time.Duration) { passwordWorkWait = d }(passwordWorkWait)
	passwordWorkWait = 20 * time.Millisecond
	h := newTestHandler(t, unreachable())
	routes := h.Routes()
	signUp(t, routes, "ada@example.com")
	for range cap(h.passwords) {
		h.passwords <- struct{}{}
	}
	rec := send(routes, "POST", "/login", credentials("ada@example.com", goodPassword), "192.0.2.1")
	expect(t, "log-in with every slot taken", rec, http.StatusServiceUnavailable, "try again in a few seconds")
	if got, want := rec.Header().Get("Retry-After"), "2"; got != want {
		t.Fatalf("Retry-After %q, want %q", got, want)
	}
	for range cap(h.passwords) {
		<-h.passwords
	}
	login(t, routes, "ada@example.com", goodPassword, "192.0.2.1")
}

func TestPasswordRules(t *testing.T) {
	h := newTestHandler(t, unreachable())
	routes := h.Routes()
	long72 := "seventy-two bytes: purple tractor, quiet lemon, brave ukulele, moss 1234"
	if len(long72) != 72 {
		t.Fatalf("test password is %d bytes", len(long72))
	}
	cases := []struct {
		name, email, password string
		want                  int
		text                  string
	}{
		{"Digits", "a@example.com", "12345678", 400, "too easy to guess"},
		{"Password", "b@example.com", "password", 400, "too easy to guess"},
		{"Spaces", "c@example.com", "        ", 400, "too easy to guess"},
		{"TheEmail", "zqxjvkwpfy@example.com", "zqxjvkwpfy@example.com", 400, "too easy to guess"},
		{"Short", "d@example.com", "Xq9!", 400, "at least 8 characters"},
		{"Over72Bytes", "e@example.com", long72 + "5", 400, "at most 72 bytes"},
		{"Exactly72Bytes", "long@example.com", long72, 303, ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := send(routes, "POST", "/signup", credentials(tc.email, tc.password), fmt.Sprintf("192.0.2.%d", i))
			expect(t, "sign-up", rec, tc.want, tc.text)
		})
	}
	t.Run("LoginComparesAllBytes", func(t *testing.T) {
		expect(t, "72 bytes and one more", send(routes, "POST", "/login", credentials("long@example.com", long72+"X"), "198.51.100.1"),
			http.StatusUnauthorized, "Wrong email or password")
		login(t, routes, "long@example.com", long72, "198.51.100.1")
	})
}

// TestEmailsFoldedAtLogin: emails that differ only in Unicode case are one
// account at sign-up and log-in.
func TestEmailsFoldedAtLogin(t *testing.T) {
	h := newTestHandler(t, unreachable())
	routes := h.Routes()
	signUp(t, routes, "Straße@example.com")
	expect(t, "sign-up as STRASSE", send(routes, "POST", "/signup", credentials("STRASSE@example.com", goodPassword), "192.0.2.2"),
		http.StatusConflict, "already exists")
	login(t, routes, "strasse@EXAMPLE.com", goodPassword, "192.0.2.3")
}

func TestSignupPolicy(t *testing.T) {
	t.Run("Invite", func(t *testing.T) {
		h := newTestHandler(t, unreachable())
		clk := withClock(h)
		h.cfg.Signup = SignupInvite
		routes := h.Routes()
		expect(t, "sign-up page before any account", send(routes, "GET", "/signup", nil, "192.0.2.1"), http.StatusOK, "auth-form")
		admin := signUp(t, routes, "admin@example.com")
		expect(t, "sign-up page once an account exists", send(routes, "GET", "/signup", nil, "192.0.2.2"), http.StatusForbidden, "by invitation")
		expect(t, "sign-up without an invitation", send(routes, "POST", "/signup", credentials("b@example.com", goodPassword), "192.0.2.2"),
			http.StatusForbidden, "by invitation")

		link := makeLink(t, routes, "/admin/invitations", admin)
		expect(t, "the invitation's page", send(routes, "GET", link, nil, "192.0.2.3"), http.StatusOK, `name="invite"`)
		invite := strings.TrimPrefix(link, "/signup?invite=")
		form := credentials("b@example.com", goodPassword)
		form.Set("invite", invite)
		expect(t, "sign-up with the invitation", send(routes, "POST", "/signup", form, "192.0.2.3"), http.StatusSeeOther, "")
		form.Set("email", "c@example.com")
		expect(t, "the invitation used again", send(routes, "POST", "/signup", form, "192.0.2.4"), http.StatusNotFound, "already used")

		expiring := strings.TrimPrefix(makeLink(t, routes, "/admin/invitations", admin), "/signup?invite=")
		clk.advance(store.InvitationFor)
		form.Set("invite", expiring)
		expect(t, "an expired invitation", send(routes, "POST", "/signup", form, "192.0.2.5"), http.StatusNotFound, "expired")
	})

	t.Run("Closed", func(t *testing.T) {
		h := newTestHandler(t, unreachable())
		h.cfg.Signup = SignupClosed
		routes := h.Routes()
		expect(t, "sign-up page", send(routes, "GET", "/signup", nil, "192.0.2.1"), http.StatusForbidden, "closed")
		expect(t, "sign-up", send(routes, "POST", "/signup", credentials("a@example.com", goodPassword), "192.0.2.1"), http.StatusForbidden, "closed")
	})

	t.Run("Open", func(t *testing.T) {
		h := newTestHandler(t, unreachable())
		routes := h.Routes()
		admin := signUp(t, routes, "a@example.com")
		other := signUp(t, routes, "b@example.com")
		if got := send(routes, "GET", "/admin/users", nil, "192.0.2.1", admin).Code; got != http.StatusOK {
			t.Fatalf("the first account's admin page: %d, want 200", got)
		}
		expect(t, "the second account's admin page", send(routes, "GET", "/admin/users", nil, "192.0.2.1", other), http.StatusForbidden, "Only the admin")
	})

	// Concurrent first sign-ups by invitation: one gets in, as the admin.
	t.Run("FirstAccountRace", func(t *testing.T) {
		h := newTestHandler(t, unreachable())
		h.cfg.Signup = SignupInvite
		routes := h.Routes()
		const n = 6
		codes := make(chan int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				codes <- send(routes, "POST", "/signup", credentials(fmt.Sprintf("u%d@example.com", i), goodPassword), fmt.Sprintf("192.0.2.%d", i)).Code
			})
		}
		wg.Wait()
		close(codes)
		created := 0
		for c := range codes {
			if c == http.StatusSeeOther {
				created++
			} else if c != http.StatusForbidden {
				t.Errorf("status %d, want 303 or 403", c)
			}
		}
		users, err := h.Store.Users(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if created != 1 || len(users) != 1 || !users[0].Admin {
			t.Fatalf("%d sign-ups got in, %d accounts (%+v), want one admin", created, len(users), users)
		}
	})
}

// makeLink has the admin post to path and returns the link shown, without
// its base URL.
func makeLink(t *testing.T, h http.Handler, path string, admin *http.Cookie) string {
	t.Helper()
	rec := send(h, "POST", path, url.Values{}, "192.0.2.1", admin)
	expect(t, "make a link", rec, http.StatusOK, "new-link")
	doc, err := goquery.NewDocumentFromReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Find(`[data-testid="new-link-url"]`).AttrOr("value", "")
}

func TestSignupThrottle(t *testing.T) {
	h := newTestHandler(t, unreachable())
	clk := withClock(h)
	routes := h.Routes()
	signUp(t, routes, "ada@example.com")
	for i := 1; i < signupAddressBurst; i++ { // signUp spent one
		expect(t, fmt.Sprintf("probe %d", i), send(routes, "POST", "/signup", credentials(fmt.Sprintf("user%d@example.com", i), "x"), "192.0.2.1"),
			http.StatusBadRequest, "")
	}
	rec := send(routes, "POST", "/signup", credentials("new@example.com", goodPassword), "192.0.2.1")
	expect(t, "a sign-up over the address's budget", rec, http.StatusTooManyRequests, "Too many attempts")
	if got, want := rec.Header().Get("Retry-After"), strconv.Itoa(int(signupAddressEvery.Seconds())); got != want {
		t.Fatalf("Retry-After %q, want %q", got, want)
	}
	clk.advance(signupAddressEvery)
	expect(t, "after the wait", send(routes, "POST", "/signup", credentials("new@example.com", goodPassword), "192.0.2.1"), http.StatusSeeOther, "")

	for i := range signupEmailBurst {
		send(routes, "POST", "/signup", credentials("ada@example.com", goodPassword), fmt.Sprintf("198.51.100.%d", i))
	}
	expect(t, "one email from many addresses", send(routes, "POST", "/signup", credentials("ada@example.com", goodPassword), "198.51.100.200"),
		http.StatusTooManyRequests, "")
}

func TestDisableEndsSessions(t *testing.T) {
	h := newTestHandler(t, unreachable())
	routes := h.Routes()
	admin := signUp(t, routes, "admin@example.com")
	bob := signUp(t, routes, "bob@example.com")
	u, err := h.Store.UserByEmail(context.Background(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	path := "/admin/users/" + strconv.FormatInt(u.ID, 10)
	if got := signedInStatus(routes, bob); got != http.StatusOK {
		t.Fatalf("before disable: %d, want 200", got)
	}
	expect(t, "disable", send(routes, "POST", path+"/disable", url.Values{}, "192.0.2.1", admin), http.StatusSeeOther, "")
	if got := signedInStatus(routes, bob); got != http.StatusSeeOther {
		t.Fatalf("a disabled user's session: %d, want 303 to log in", got)
	}
	expect(t, "a disabled user's log-in", send(routes, "POST", "/login", credentials("bob@example.com", goodPassword), "192.0.2.9"),
		http.StatusForbidden, "disabled")
	expect(t, "a non-admin disabling", send(routes, "POST", path+"/enable", url.Values{}, "192.0.2.1", bob), http.StatusSeeOther, "")
	expect(t, "enable", send(routes, "POST", path+"/enable", url.Values{}, "192.0.2.1", admin), http.StatusSeeOther, "")
	if got := signedInStatus(routes, bob); got != http.StatusSeeOther {
		t.Fatalf("a session from before the disable, after enable: %d, want 303", got)
	}
	login(t, routes, "bob@example.com", goodPassword, "192.0.2.9")

	self, _ := h.Store.UserByEmail(context.Background(), "admin@example.com")
	expect(t, "the admin disabling themself", send(routes, "POST", "/admin/users/"+strconv.FormatInt(self.ID, 10)+"/disable", url.Values{}, "192.0.2.1", admin),
		http.StatusConflict, "your own account")
}

func TestResetLink(t *testing.T) {
	h := newTestHandler(t, unreachable())
	routes := h.Routes()
	admin := signUp(t, routes, "admin@example.com")
	bob := signUp(t, routes, "bob@example.com")
	u, _ := h.Store.UserByEmail(context.Background(), "bob@example.com")
	link := makeLink(t, routes, "/admin/users/"+strconv.FormatInt(u.ID, 10)+"/reset", admin)
	if !strings.HasPrefix(link, "/reset/") {
		t.Fatalf("reset link %q", link)
	}
	expect(t, "open the link", send(routes, "GET", link, nil, "192.0.2.5"), http.StatusOK, "bob@example.com")
	expect(t, "a weak new password", send(routes, "POST", link, url.Values{"password": {"password"}}, "192.0.2.5"), http.StatusBadRequest, "too easy")
	rec := send(routes, "POST", link, url.Values{"password": {"new purple tractor song"}}, "192.0.2.5")
	expect(t, "set a new password", rec, http.StatusSeeOther, "")
	if got := signedInStatus(routes, sessionOf(rec)); got != http.StatusOK {
		t.Fatalf("signed in after the reset: %d, want 200", got)
	}
	if got := signedInStatus(routes, bob); got != http.StatusSeeOther {
		t.Fatalf("a session from before the reset: %d, want 303", got)
	}
	expect(t, "the link again", send(routes, "GET", link, nil, "192.0.2.5"), http.StatusNotFound, "already used")
	expect(t, "post to the link again", send(routes, "POST", link, url.Values{"password": {"another purple tractor"}}, "192.0.2.5"),
		http.StatusNotFound, "already used")
	login(t, routes, "bob@example.com", "new purple tractor song", "192.0.2.6")
}

func TestChangePassword(t *testing.T) {
	h := newTestHandler(t, unreachable())
	routes := h.Routes()
	here := signUp(t, routes, "ada@example.com")
	elsewhere := login(t, routes, "ada@example.com", goodPassword, "198.51.100.1")
	change := func(current, next string) *httptest.ResponseRecorder {
		return send(routes, "POST", "/account/password", url.Values{"current": {current}, "password": {next}}, "192.0.2.1", here)
	}
	expect(t, "a wrong current password", change("wrong", "new purple tractor song"), http.StatusBadRequest, "current password")
	expect(t, "a weak new password", change(goodPassword, "12345678"), http.StatusBadRequest, "too easy")
	rec := change(goodPassword, "new purple tractor song")
	expect(t, "change", rec, http.StatusSeeOther, "")
	if got := signedInStatus(routes, sessionOf(rec)); got != http.StatusOK {
		t.Fatalf("this session after the change: %d, want 200", got)
	}
	if got := signedInStatus(routes, elsewhere); got != http.StatusSeeOther {
		t.Fatalf("another session after the change: %d, want 303", got)
	}
	expect(t, "the old password", send(routes, "POST", "/login", credentials("ada@example.com", goodPassword), "192.0.2.7"), http.StatusUnauthorized, "")
	login(t, routes, "ada@example.com", "new purple tractor song", "192.0.2.7")
}

func TestSessionTimeouts(t *testing.T) {
	h := newTestHandler(t, unreachable())
	clk := withClock(h)
	routes := h.Routes()
	first := signUp(t, routes, "ada@example.com")

	clk.advance(30 * time.Minute)
	if rec := send(routes, "GET", "/", nil, "192.0.2.1", first); rec.Code != http.StatusOK || sessionOf(rec) != nil {
		t.Fatalf("within the hour: %d, cookie rewritten %t; want 200 and no rewrite", rec.Code, sessionOf(rec) != nil)
	}
	cookie := first
	for day := 6; day <= 24; day += 6 {
		clk.advance(6 * 24 * time.Hour)
		rec := send(routes, "GET", "/", nil, "192.0.2.1", cookie)
		if rec.Code != http.StatusOK || sessionOf(rec) == nil {
			t.Fatalf("used every 6 days, day %d: %d, cookie rewritten %t; want 200 and a refreshed cookie", day, rec.Code, sessionOf(rec) != nil)
		}
		cookie = sessionOf(rec)
		if day == 12 {
			if got := signedInStatus(routes, first); got != http.StatusSeeOther {
				t.Fatalf("the first cookie, unused for 12 days: %d, want 303", got)
			}
		}
	}
	clk.advance(5 * 24 * time.Hour) // day 29
	rec := send(routes, "GET", "/", nil, "192.0.2.1", cookie)
	if rec.Code != http.StatusOK || sessionOf(rec) == nil {
		t.Fatalf("29 days after sign-in, used 5 days ago: %d, want 200 and a refreshed cookie", rec.Code)
	}
	cookie = sessionOf(rec)
	clk.advance(2 * 24 * time.Hour) // day 31: past the session's lifetime, though used 2 days ago
	if got := signedInStatus(routes, cookie); got != http.StatusSeeOther {
		t.Fatalf("31 days after sign-in: %d, want 303", got)
	}
}

func TestHTTPSHeaders(t *testing.T) {
	for _, secure := range []bool{true, false} {
		t.Run(map[bool]string{true: "HTTPS", false: "HTTP"}[secure], func(t *testing.T) {
			h := newTestHandler(t, unreachable())
			h.cfg.SecureCookies = secure
			h.cookie = sessionCookie(h.cfg)
			h.sessions = newSessionStore(h.cfg, h.Store.Now)
			routes := h.Routes()
			rec := send(routes, "POST", "/signup", credentials("ada@example.com", goodPassword), "192.0.2.1")
			c := sessionOf(rec)
			wantName, wantHSTS := "scribe", ""
			if secure {
				wantName, wantHSTS = "__Host-scribe", "max-age=63072000"
			}
			if c == nil || c.Name != wantName || c.Secure != secure || c.Path != "/" || c.Domain != "" {
				t.Fatalf("session cookie %+v, want %s, Secure %t, Path /, no Domain", c, wantName, secure)
			}
			if got := rec.Header().Get("Strict-Transport-Security"); got != wantHSTS {
				t.Fatalf("Strict-Transport-Security %q, want %q", got, wantHSTS)
			}
			if got := signedInStatus(routes, c); got != http.StatusOK {
				t.Fatalf("signed in with the cookie: %d", got)
			}
		})
	}
}

func TestPrivateNotStored(t *testing.T) {
	h := newTestHandler(t, unreachable())
	routes := h.Routes()
	c := signUp(t, routes, "ada@example.com")
	u, _ := h.Store.UserByEmail(context.Background(), "ada@example.com")
	ctx := context.Background()
	j, err := h.Store.CreateJob(ctx, job.Job{ID: "j_1", UserID: u.ID, Filename: "a.wav", AudioPath: "/x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store.MarkSubmitted(ctx, j.ID, "tr_1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Store.ApplyUpdate(ctx, job.Update{UpstreamID: "tr_1", Status: job.StatusCompleted, Progress: 1,
		Result: &job.Result{Text: "hello"}, Via: job.ViaPoll}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/jobs/j_1", "/jobs/j_1/transcript.txt", "/account", "/admin/users", "/delivery"} {
		rec := send(routes, "GET", path, nil, "192.0.2.1", c)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, rec.Code)
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", path, got)
		}
	}
	if got := send(routes, "GET", "/static/app.css", nil, "192.0.2.1").Header().Get("Cache-Control"); got == "no-store" {
		t.Errorf("static files are no-store too")
	}
}

// signUp creates an account through the sign-up form, as a person does,
// and returns its session cookie.
func signUp(t *testing.T, h http.Handler, email string) *http.Cookie {
	t.Helper()
	req := httptest.NewRequest("POST", "/signup", strings.NewReader(url.Values{"email": {email}, "password": {"correct horse battery"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("signup: %d %s", rec.Code, rec.Body)
	}
	return cookieSet(t, rec)
}
