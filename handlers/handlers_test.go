package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
	"scribe/job"
	"scribe/media"
	"scribe/metrics"
	"scribe/relay"
	"scribe/store"
	"scribe/store/storetest"
)

// newTestHandler returns a Handler on a fresh store whose upstream client
// is c; uploads go to a fresh directory and are taken as one second of
// audio.
func newTestHandler(t testing.TB, c *deepscript.Client) *Handler {
	t.Helper()
	return newTestHandlerOn(t, c, storetest.Open(t))
}

// newTestHandlerOn is newTestHandler on the store s.
func newTestHandlerOn(t testing.TB, c *deepscript.Client, s *store.Store) *Handler {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	m := metrics.New()
	return New(Config{UploadDir: t.TempDir(), MaxUploadBytes: 1 << 20, SessionKeys: [][]byte{make([]byte, 64), make([]byte, 32)}, Signup: SignupOpen},
		Deps{Store: s, Relay: relay.New(s, c, m, log), Client: c, Metrics: m, Log: log,
			Probe:    func(context.Context, string) (media.Info, error) { return media.Info{Duration: 1}, nil },
			Shutdown: make(chan struct{})})
}

// unreachable is a client of an upstream that refuses every connection.
func unreachable() *deepscript.Client {
	return deepscript.New("http://127.0.0.1:1", "key", nil)
}

// serve sends req to h's routes, with cookie when it is not nil.
func serve(h *Handler, req *http.Request, cookie *http.Cookie) *httptest.ResponseRecorder {
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	h.Routes().ServeHTTP(rec, req)
	return rec
}

// signedIn is a session cookie for u, as logging in sets it.
func signedIn(t *testing.T, h *Handler, u store.User) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := h.signIn(rec, httptest.NewRequest("GET", "/", nil), u); err != nil {
		t.Fatal(err)
	}
	return cookieSet(t, rec)
}

// cookieSet is the session cookie an answer sets.
func cookieSet(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionName || c.Name == "__Host-"+sessionName {
			return c
		}
	}
	t.Fatalf("no session cookie set (status %d)", rec.Code)
	return nil
}

// multipartFiles builds a POST /jobs body with one file part per name
// and content.
func multipartFiles(t *testing.T, files ...[2]string) (string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range files {
		fw, err := mw.CreateFormFile("file", f[0])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, f[1])
	}
	mw.Close()
	return mw.FormDataContentType(), &b
}

// TestMetricsAccess checks that /metrics is served on the main listener
// only to a Bearer of the metrics token, and is otherwise a 404 like any
// route that does not exist; MetricsRoutes serves it to anyone.
func TestMetricsAccess(t *testing.T) {
	withToken := newTestHandler(t, unreachable())
	withToken.cfg.MetricsToken = "s3cret"
	get := func(h http.Handler, authorization string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for name, tc := range map[string]struct {
		h             http.Handler
		authorization string
		want          int
	}{
		"Token":         {withToken.Routes(), "Bearer s3cret", http.StatusOK},
		"NoToken":       {withToken.Routes(), "", http.StatusNotFound},
		"WrongToken":    {withToken.Routes(), "Bearer s3cre", http.StatusNotFound},
		"TokenAsBasic":  {withToken.Routes(), "Basic s3cret", http.StatusNotFound},
		"TokenUnset":    {newTestHandler(t, unreachable()).Routes(), "Bearer ", http.StatusNotFound},
		"MetricsRoutes": {withToken.MetricsRoutes(), "", http.StatusOK},
	} {
		t.Run(name, func(t *testing.T) {
			rec := get(tc.h, tc.authorization)
			if got, want := rec.Code, tc.want; got != want {
				t.Fatalf("status %d, want %d: %.200s", got, want, rec.Body)
			}
			if got, want := strings.Contains(rec.Body.String(), "scribe_browser_streams"), tc.want == http.StatusOK; got != want {
				t.Fatalf("body has metrics: %v, want %v: %.200s", got, want, rec.Body)
			}
		})
	}
	t.Run("MetricsRoutesServeNothingElse", func(t *testing.T) {
		rec := httptest.NewRecorder()
		withToken.MetricsRoutes().ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
		if got, want := rec.Code, http.StatusNotFound; got != want {
			t.Fatalf("GET /login on the metrics listener: status %d, want %d", got, want)
		}
	})
}

// TestHealthzHidesErrors checks that the public health check says what is
// down without the error text, which names the upstream's address.
func TestHealthzHidesErrors(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	h := newTestHandler(t, deepscript.New(down.URL, "key", nil))
	rec := serve(h, httptest.NewRequest("GET", "/healthz", nil), nil)
	if got, want := rec.Code, http.StatusServiceUnavailable; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
	if got, want := rec.Body.String(), `{"disk":"ok","store":"ok","upstream":"unavailable"}`+"\n"; got != want {
		t.Fatalf("body %q, want %q", got, want)
	}
}

func TestServiceEndpoints(t *testing.T) {
	h := newTestHandler(t, deepscripttest.NewServer(t).Client())
	t.Run("Healthz", func(t *testing.T) {
		rec := serve(h, httptest.NewRequest("GET", "/healthz", nil), nil)
		if got, want := rec.Code, http.StatusOK; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
		if got, want := rec.Body.String(), `{"disk":"ok","store":"ok","upstream":"ok"}`+"\n"; got != want {
			t.Fatalf("body %q, want %q", got, want)
		}
	})
	t.Run("SecurityHeaders", func(t *testing.T) {
		rec := serve(h, httptest.NewRequest("GET", "/login", nil), nil)
		for header, want := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"Content-Security-Policy": "script-src 'self' 'nonce-",
			"Referrer-Policy":         "same-origin",
			"X-Frame-Options":         "DENY",
		} {
			if got := rec.Header().Get(header); !strings.Contains(got, want) {
				t.Errorf("%s = %q, want it to contain %q", header, got, want)
			}
		}
		if strings.Contains(rec.Header().Get("Content-Security-Policy"), "unsafe-inline") {
			t.Error("CSP allows unsafe-inline")
		}
	})
}

// TestUploadJSONHidesInternalErrors uploads two files, one of which fails
// on our side: the JSON answer lists the job made and a generic message
// for the other, not the internal error's text.
func TestUploadJSONHidesInternalErrors(t *testing.T) {
	h := newTestHandler(t, unreachable())
	var probeFails atomic.Bool // the first file is audio, the rest fail
	h.Probe = func(_ context.Context, path string) (media.Info, error) {
		if probeFails.Load() {
			return media.Info{}, errors.New("ffprobe: exec /usr/bin/ffprobe: secret detail")
		}
		probeFails.Store(true)
		return media.Info{Duration: 1}, nil
	}
	cookie := signedIn(t, h, storetest.User(t, h.Store, "ada@example.com"))
	ctype, body := multipartFiles(t, [2]string{"good.wav", "RIFF"}, [2]string{"bad.wav", "RIFF"})
	req := httptest.NewRequest("POST", "/jobs", body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	rec := serve(h, req, cookie)
	if got, want := rec.Code, http.StatusCreated; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, rec.Body)
	}
	var got struct {
		Jobs   []jobJSON `json:"jobs"`
		Errors []string  `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Jobs) != 1 || len(got.Errors) != 1 {
		t.Fatalf("got %d jobs and errors %q; want 1 job and 1 error", len(got.Jobs), got.Errors)
	}
	if got, want := got.Errors[0], job.ErrorMessage(errors.New("internal")); got != want {
		t.Fatalf("error %q, want %q", got, want)
	}
}

// TestOtherUsersJob tries every job route as a user who does not own the
// job: each answers 404, and the owner still has the job.
func TestOtherUsersJob(t *testing.T) {
	ctx := context.Background()
	h := newTestHandler(t, unreachable())
	ada := storetest.User(t, h.Store, "ada@example.com")
	j := storetest.SubmittedJob(t, h.Store, ada, "j_1", "tr_1")
	if _, _, err := h.Store.ApplyUpdate(ctx, job.Update{UpstreamID: "tr_1", Status: job.StatusCompleted,
		Result: &job.Result{Text: "secret words"}, Via: job.ViaWebhook}); err != nil {
		t.Fatal(err)
	}
	owner := signedIn(t, h, ada)
	other := signedIn(t, h, storetest.User(t, h.Store, "grace@example.com"))
	routes := []string{"GET /jobs/j_1", "GET /jobs/j_1/events", "GET /jobs/j_1/audio", "GET /jobs/j_1/transcript.txt",
		"GET /jobs/j_1/transcript.srt", "GET /jobs/j_1/transcript.vtt", "GET /jobs/j_1/transcript.json",
		"POST /jobs/j_1/delete", "POST /jobs/j_1/retry", "POST /jobs/j_1/rename", "POST /jobs/j_1/tags", "PATCH /jobs/j_1",
		"POST /jobs/j_1/share", "DELETE /jobs/j_1/share", "POST /jobs/j_1/share/delete"}
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		t.Run(strings.NewReplacer("/", "_", " ", "").Replace(route), func(t *testing.T) {
			rec := serve(h, httptest.NewRequest(method, path, nil), other)
			if got, want := rec.Code, http.StatusNotFound; got != want {
				t.Fatalf("status %d, want %d", got, want)
			}
			if strings.Contains(rec.Body.String(), "secret words") {
				t.Fatal("the answer shows the owner's transcript")
			}
		})
	}
	t.Run("OwnerKeepsIt", func(t *testing.T) {
		for _, path := range []string{"/jobs/j_1", "/jobs/j_1/transcript.txt"} {
			if rec := serve(h, httptest.NewRequest("GET", path, nil), owner); rec.Code != http.StatusOK {
				t.Errorf("GET %s as the owner: %d, want 200", path, rec.Code)
			}
		}
		if _, err := h.Store.Job(ctx, ada.ID, j.ID); err != nil {
			t.Fatalf("the job is gone: %v", err)
		}
	})
}
