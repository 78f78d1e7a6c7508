package handlers

import (
	"io"
	"net/http"
	"time"
)

// Variables for tests.
var (
	// formBodyTimeout bounds reading a small body (a form, a JSON request):
	// a client that trickles one cannot hold a connection for long.
	formBodyTimeout = 20 * time.Second
	// uploadWindow and uploadWindowBytes set the slowest upload kept going:
	// each window must bring this many bytes (about 8.5 KB/s, far below
	// any real link), so a slow upload finishes and a trickle is cut off.
	uploadWindow            = 30 * time.Second
	uploadWindowBytes int64 = 256 << 10
)

// bodyDeadlines puts a read deadline on every request body. Only headers
// have a server-wide timeout, as streams and uploads may rightly last
// long; bodies are bounded here instead: uploads by a minimum rate, other
// bodies by formBodyTimeout (routes may set a longer one themselves).
func bodyDeadlines(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if r.Method == http.MethodPost && r.URL.Path == "/jobs" {
			rc.SetReadDeadline(time.Now().Add(uploadWindow))
			r.Body = &minRateBody{ReadCloser: r.Body, rc: rc}
		} else {
			rc.SetReadDeadline(time.Now().Add(formBodyTimeout))
		}
		next.ServeHTTP(w, r)
	})
}

// minRateBody moves its connection's read deadline one uploadWindow on
// each time another uploadWindowBytes have arrived.
type minRateBody struct {
	io.ReadCloser
	rc  *http.ResponseController
	got int64
}

func (b *minRateBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.got += int64(n); b.got >= uploadWindowBytes {
		b.got = 0
		b.rc.SetReadDeadline(time.Now().Add(uploadWindow))
	}
	return n, err
}
