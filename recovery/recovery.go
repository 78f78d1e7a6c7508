// Package recovery keeps a panic in an HTTP handler from reaching a client
// as a dropped connection or a stack trace: it logs the panic with its stack
// and answers 500.
package recovery

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Handler calls next. When next panics, Handler logs the panic and its
// stack, then, if nothing of the response was sent yet, calls
// internalError to answer 500 in the caller's format. If the response had
// started, it is aborted, so the client sees it cut rather than complete.
// http.ErrAbortHandler passes through untouched, as net/http expects.
func Handler(next http.Handler, log *slog.Logger, internalError http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			if tw.started {
				panic(http.ErrAbortHandler)
			}
			internalError(w, r)
		}()
		next.ServeHTTP(tw, r)
	})
}

// trackingWriter notes whether any of the response has been sent.
type trackingWriter struct {
	http.ResponseWriter
	started bool
}

func (w *trackingWriter) WriteHeader(status int) {
	w.started = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *trackingWriter) Write(p []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(p)
}

// ReadFrom keeps the underlying writer's ReadFrom (sendfile for
// http.ServeContent) in use.
func (w *trackingWriter) ReadFrom(r io.Reader) (int64, error) {
	w.started = true
	return io.Copy(w.ResponseWriter, r)
}

// FlushError serves http.ResponseController.Flush, which sends the headers.
func (w *trackingWriter) FlushError() error {
	w.started = true
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the writer's other features,
// such as write deadlines.
func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
