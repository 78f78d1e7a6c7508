package recovery

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// serve runs h behind Handler on a recorder and returns the recorder, the
// log and what panicked out of Handler (nil if nothing did).
func serve(h http.HandlerFunc) (rec *httptest.ResponseRecorder, log string, escaped any) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	internalError := func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "something went wrong", http.StatusInternalServerError)
	}
	rec = httptest.NewRecorder()
	func() {
		defer func() { escaped = recover() }()
		Handler(h, logger, internalError).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/jobs/1", nil))
	}()
	return rec, buf.String(), escaped
}

func TestHandler(t *testing.T) {
	t.Run("NoPanic", func(t *testing.T) {
		rec, log, escaped := serve(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fine") })
		if got, want := rec.Code, http.StatusOK; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
		if got, want := rec.Body.String(), "fine"; got != want {
			t.Errorf("body %q, want %q", got, want)
		}
		if log != "" || escaped != nil {
			t.Errorf("log %q, escaped %v; want neither", log, escaped)
		}
	})
	t.Run("PanicBeforeWriting", func(t *testing.T) {
		rec, log, escaped := serve(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Partial", "yes")
			panic("boom")
		})
		if escaped != nil {
			t.Fatalf("panic %v escaped", escaped)
		}
		if got, want := rec.Code, http.StatusInternalServerError; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
		if got, want := rec.Body.String(), "something went wrong\n"; got != want {
			t.Errorf("body %q, want %q", got, want)
		}
		for _, want := range []string{"panic serving request", "method=GET", "path=/jobs/1", "panic=boom", "recovery_test.go"} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %q: %s", want, log)
			}
		}
	})
	for name, h := range map[string]http.HandlerFunc{
		"PanicAfterWriteHeader": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			panic("boom")
		},
		"PanicAfterWrite": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "partial")
			panic("boom")
		},
		"PanicAfterReadFrom": func(w http.ResponseWriter, r *http.Request) {
			io.Copy(w, io.LimitReader(strings.NewReader("partial"), 7)) // a LimitedReader has no WriteTo
			panic("boom")
		},
		"PanicAfterFlush": func(w http.ResponseWriter, r *http.Request) {
			http.NewResponseController(w).Flush()
			panic("boom")
		},
	} {
		t.Run(name, func(t *testing.T) {
			rec, log, escaped := serve(h)
			if got, want := escaped, any(http.ErrAbortHandler); got != want {
				t.Errorf("escaped %v, want http.ErrAbortHandler so the response is cut", got)
			}
			if got := rec.Code; got == http.StatusInternalServerError {
				t.Errorf("status %d: a 500 written over a started response", got)
			}
			if !strings.Contains(log, "panic=boom") {
				t.Errorf("log lacks the panic: %s", log)
			}
		})
	}
	t.Run("AbortHandler", func(t *testing.T) {
		_, log, escaped := serve(func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) })
		if got, want := escaped, any(http.ErrAbortHandler); got != want {
			t.Errorf("escaped %v, want http.ErrAbortHandler", got)
		}
		if log != "" {
			t.Errorf("log %q, want nothing for a deliberate abort", log)
		}
	})
}

// TestUnwrap checks that a handler behind Handler still reaches the
// connection's write deadline through http.ResponseController.
func TestUnwrap(t *testing.T) {
	srv := httptest.NewServer(Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Second)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}), slog.New(slog.DiscardHandler), nil))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("status %d (%s), want %d", got, body, want)
	}
}

// readFromRecorder is a recorder that notes whether ReadFrom was used.
type readFromRecorder struct {
	*httptest.ResponseRecorder
	readFrom bool
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.readFrom = true
	return io.Copy(r.ResponseRecorder, src)
}

// TestReadFrom checks that copying into the response still reaches the
// writer's own ReadFrom, which net/http uses for sendfile.
func TestReadFrom(t *testing.T) {
	rec := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, io.LimitReader(strings.NewReader("audio"), 5))
	}), slog.New(slog.DiscardHandler), nil)
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if !rec.readFrom {
		t.Error("the writer's ReadFrom was not used")
	}
	if got, want := rec.Body.String(), "audio"; got != want {
		t.Errorf("body %q, want %q", got, want)
	}
}
