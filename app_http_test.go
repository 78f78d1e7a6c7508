package main

import (
	"bufio"
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestAccounts(t *testing.T) {
	app := startApp(t, nil)
	newUser(t, app, "ada@example.com")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		name, path, email, password string
		want                        int
		message                     string
	}{
		{"BadEmail", "/signup", "not-an-email", "long enough pw", 400, "valid email"},
		{"ShortPassword", "/signup", "bo@example.com", "short", 400, "at least 8"},
		{"EmailTaken", "/signup", "ADA@example.com", "long enough pw", 409, "already exists"},
		{"WrongPassword", "/login", "ada@example.com", "wrong password", 401, "Wrong email or password"},
		{"UnknownEmail", "/login", "nobody@example.com", "whatever123", 401, "Wrong email or password"},
		{"OK", "/login", "ada@example.com", "correct horse battery", 303, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.PostForm(app.URL+tc.path, url.Values{"email": {tc.email}, "password": {tc.password}})
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(resp)
			if got := resp.StatusCode; got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
			if !strings.Contains(body, tc.message) {
				t.Fatalf("body lacks %q", tc.message)
			}
		})
	}
	t.Run("SignedOut", func(t *testing.T) {
		resp, err := c.Get(app.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" {
			t.Fatalf("GET / signed out: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, path := range []string{"/events", "/jobs/j_0000/events", "/jobs/j_0000/transcript.txt"} {
			resp, err := c.Get(app.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Errorf("GET %s signed out: %d, want 401", path, resp.StatusCode)
			}
		}
	})
	t.Run("LogoutRevokesCopiedCookie", func(t *testing.T) {
		grace := newUser(t, app, "grace@example.com")
		u, _ := url.Parse(app.URL)
		thief := &http.Client{CheckRedirect: c.CheckRedirect}
		thief.Jar, _ = cookiejar.New(nil)
		thief.Jar.SetCookies(u, grace.Jar.Cookies(u))
		resp, err := thief.Get(app.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		if readAll(resp); resp.StatusCode != 200 {
			t.Fatalf("copied cookie before log-out: %d, want 200", resp.StatusCode)
		}
		resp, err = grace.Post(app.URL+"/logout", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		resp, err = thief.Get(app.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" {
			t.Fatalf("copied cookie after log-out: %d → %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("TamperedCookie", func(t *testing.T) {
		req, _ := http.NewRequest("GET", app.URL+"/", nil)
		req.Header.Set("Cookie", "scribe=garbage")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 303 {
			t.Fatalf("tampered cookie: %d, want 303 to log in", resp.StatusCode)
		}
	})
}

func TestUploadErrors(t *testing.T) {
	app := startApp(t, map[string]string{"SCRIBE_MAX_UPLOAD_BYTES": "200000"})
	c := newUser(t, app, "ada@example.com")
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, path string
		want       int
		message    string
	}{
		{"NotAudio", write("notes.txt", []byte("these are not sounds\n")), 415, "does not look like audio"},
		{"Empty", write("empty.wav", nil), 400, "empty"},
		{"TooLarge", write("big.wav", make([]byte, 300000)), 413, "larger than"},
		{"Truncated", write("cut.mp3", []byte("ID3\x03\x00\x00\x00\x00\x00\x00\xff\xfb")), 415, "does not look like audio"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := postFile(t, c, app, tc.path)
			body := readAll(resp)
			if resp.StatusCode != tc.want || !strings.Contains(body, tc.message) {
				t.Fatalf("got %d %s; want %d with %q", resp.StatusCode, body, tc.want, tc.message)
			}
		})
	}
	t.Run("NoFile", func(t *testing.T) {
		req, _ := http.NewRequest("POST", app.URL+"/jobs", strings.NewReader("--x--\r\n"))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(resp); resp.StatusCode != 400 || !strings.Contains(body, "Choose an audio file") {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
	})
	t.Run("CrossOrigin", func(t *testing.T) {
		req, _ := http.NewRequest("POST", app.URL+"/jobs", strings.NewReader(""))
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site POST: %d, want 403", resp.StatusCode)
		}
	})
	t.Run("NothingStored", func(t *testing.T) {
		entries, err := os.ReadDir(filepath.Join(app.DataDir, "uploads"))
		if err != nil || len(entries) != 0 {
			t.Fatalf("rejected uploads left %d files (%v)", len(entries), err)
		}
	})
	t.Run("FormWithoutJavaScript", func(t *testing.T) {
		good := speechFile(t, dir, "slt", "one two three")
		post := func(paths ...string) *http.Response {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for _, p := range paths {
				fw, _ := mw.CreateFormFile("file", filepath.Base(p))
				data, _ := os.ReadFile(p)
				fw.Write(data)
			}
			mw.Close()
			req, _ := http.NewRequest("POST", app.URL+"/jobs", &buf)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		resp := post(good, good)
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Fatalf("two good files: %d → %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp = post(good)
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/jobs/j_") {
			t.Fatalf("one good file: %d → %q, want 303 to its job", resp.StatusCode, loc)
		}
		notes := filepath.Join(dir, "notes.txt")
		resp = post(good, notes)
		body := readAll(resp)
		if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(body, "notes.txt does not look like audio") {
			t.Fatalf("good and bad file: %d, want 415 naming notes.txt", resp.StatusCode)
		}
		if n := strings.Count(body, `data-testid="job-row"`); n != 4 {
			t.Fatalf("page after a mixed upload lists %d jobs, want 4 (the good file kept)", n)
		}
	})
}

func TestServiceEndpoints(t *testing.T) {
	app := startApp(t, nil)
	resp, err := http.Get(app.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(resp); resp.StatusCode != 200 || !strings.Contains(body, `"upstream":"ok"`) {
		t.Fatalf("healthz: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get(app.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(resp); resp.StatusCode != 200 || !strings.Contains(body, "scribe_browser_streams") {
		t.Fatalf("metrics: %d %.200s", resp.StatusCode, body)
	}
	resp, err = http.Get(app.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for header, want := range map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "script-src 'self' 'nonce-",
		"Referrer-Policy":         "same-origin",
	} {
		if got := resp.Header.Get(header); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want it to contain %q", header, got, want)
		}
	}
	if strings.Contains(resp.Header.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Error("CSP allows unsafe-inline")
	}
}

// TestShutdownEndsStreams stops the app while browsers hold event streams:
// run must return promptly and leave no goroutine behind.
func TestShutdownEndsStreams(t *testing.T) {
	before := runtime.NumGoroutine()
	app := startApp(t, nil)
	c := newUser(t, app, "ada@example.com")
	var bodies []*http.Response
	for range 3 {
		resp, err := c.Get(app.URL + "/events")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, resp)
	}
	start := time.Now()
	app.Stop()
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("shutdown took %v with open streams", took)
	}
	for _, b := range bodies {
		b.Body.Close()
	}
	c.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after shutdown:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var b strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&b)
	return b.String()
}

func TestSecureCookies(t *testing.T) {
	for url, want := range map[string]bool{
		"https://scribe.example": true, "HTTPS://scribe.example": true,
		"http://scribe.example": false, "": false,
	} {
		if got := (Config{PublicURL: url}).secureCookies(); got != want {
			t.Errorf("PublicURL %q: secure cookies %v, want %v", url, got, want)
		}
	}
}
