package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"scribe/deepscript"
	"scribe/engine/speech"
	"scribe/pgtest"
)

const testAPIKey = "sk_test_engine"

// Test audio, made once per run in TestMain.
var clips struct {
	dir       string
	short     string // ~3 s of flite speech, wav
	shortMP3  string
	other     string // a different short clip (another file hash)
	ten       string // ~10 s of flite speech, wav
	tenText   string
	corrupt   string // a wav header over garbage: probes fine, ffmpeg fails
	truncated string // the first half of ten as flac: the header announces more
	notAudio  string
}

func TestMain(m *testing.M) {
	if os.Getenv(nodeProcessEnv) == "1" {
		os.Exit(runNodeProcess())
	}
	code, err := runTests(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func runTests(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "engine-test-audio")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	clips.dir = dir
	clips.tenText = "the quick brown fox jumps over the lazy dog while the farmer walks to the market " +
		"to sell fresh apples and warm bread to the people of the small town " +
		"before the sun goes down behind the hills"
	if err := makeClips(dir); err != nil {
		return 0, err
	}
	code := pgtest.Main(m)
	closeSharedPocketsphinx()
	return code, nil
}

func makeClips(dir string) error {
	run := func(name string, args ...string) error {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s %v: %v: %s", name, args, err, out)
		}
		return nil
	}
	clips.short = filepath.Join(dir, "short.wav")
	clips.shortMP3 = filepath.Join(dir, "short.mp3")
	clips.other = filepath.Join(dir, "other.wav")
	clips.ten = filepath.Join(dir, "ten.wav")
	clips.corrupt = filepath.Join(dir, "corrupt.wav")
	clips.truncated = filepath.Join(dir, "truncated.flac")
	tenFLAC := filepath.Join(dir, "ten.flac")
	clips.notAudio = filepath.Join(dir, "notes.txt")
	steps := [][]string{
		{"flite", "-voice", "slt", "-t", "hello world this is a short test", "-o", clips.short},
		{"flite", "-voice", "slt", "-t", "a different sentence for another file", "-o", clips.other},
		{"flite", "-voice", "slt", "-t", clips.tenText, "-o", clips.ten},
		{"ffmpeg", "-nostdin", "-v", "error", "-y", "-i", clips.short, clips.shortMP3},
		{"ffmpeg", "-nostdin", "-v", "error", "-y", "-i", clips.ten, tenFLAC},
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			return err
		}
	}
	wav, err := os.ReadFile(clips.ten)
	if err != nil {
		return err
	}
	// A cut-off WAV just probes shorter; a FLAC keeps announcing the whole
	// length in its header.
	flac, err := os.ReadFile(tenFLAC)
	if err != nil {
		return err
	}
	if err := os.WriteFile(clips.truncated, flac[:len(flac)/2], 0o600); err != nil {
		return err
	}
	// Same header, format tag 0x55 (mp3 in wav), then random bytes: ffprobe
	// accepts it, ffmpeg's decoder fails.
	hdr := bytes.Clone(wav[:44])
	binary.LittleEndian.PutUint16(hdr[20:22], 0x55)
	garbage := make([]byte, len(wav)-44)
	rand.Read(garbage)
	if err := os.WriteFile(clips.corrupt, append(hdr, garbage...), 0o600); err != nil {
		return err
	}
	return os.WriteFile(clips.notAudio, []byte("these are meeting notes, not audio\n"), 0o600)
}

// The real recognizer is shared by the tests that need it: creating one
// costs ~1 s and ~90 MB per decoder.
var shared struct {
	once sync.Once
	rec  *speech.Pocketsphinx
	err  error
}

func sharedPocketsphinx(t *testing.T) speech.Recognizer {
	t.Helper()
	shared.once.Do(func() { shared.rec, shared.err = speech.NewPocketsphinx(speech.PocketsphinxOptions{Workers: 2}) })
	if shared.err != nil {
		t.Fatalf("pocketsphinx: %v", shared.err)
	}
	return shared.rec
}

func closeSharedPocketsphinx() {
	if shared.rec != nil {
		shared.rec.Close()
	}
}

// scripted is a deterministic Recognizer: it reads the PCM a second at a
// time, reporting progress and waiting perSecond after each, then
// optionally waits for gate, then returns text or err.
type scripted struct {
	perSecond time.Duration
	gate      chan struct{} // nil: do not wait
	blockFrom int32         // calls from this one on (1-based) wait for ctx to end
	err       error
	text      string
	calls     atomic.Int32
	active    atomic.Int32 // calls not returned yet
}

func (s *scripted) Recognize(ctx context.Context, pcm io.Reader, progress func(float64)) (speech.Transcript, error) {
	call := s.calls.Add(1)
	s.active.Add(1)
	defer s.active.Add(-1)
	buf := make([]byte, 2*speech.SampleRate)
	samples := 0
	for {
		n, err := io.ReadFull(pcm, buf)
		samples += n / 2
		if n > 0 && progress != nil {
			progress(float64(samples) / speech.SampleRate)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return speech.Transcript{}, err
		}
		if s.perSecond > 0 {
			select {
			case <-ctx.Done():
				return speech.Transcript{}, ctx.Err()
			case <-time.After(s.perSecond):
			}
		}
	}
	if s.blockFrom > 0 && call >= s.blockFrom {
		<-ctx.Done()
		return speech.Transcript{}, ctx.Err()
	}
	if s.gate != nil {
		select {
		case <-ctx.Done():
			return speech.Transcript{}, ctx.Err()
		case <-s.gate:
		}
	}
	if s.err != nil {
		return speech.Transcript{}, s.err
	}
	d := float64(samples) / speech.SampleRate
	text := s.text
	if text == "" {
		text = "hello world"
	}
	return speech.Transcript{Text: text, Duration: d, Segments: []speech.Segment{{
		Start: 0, End: d, Text: text,
		Words: []speech.Word{{Word: strings.Fields(text)[0], Start: 0.1, End: 0.4, Confidence: 0.9}},
	}}}, nil
}

func (s *scripted) Close() error { return nil }

// testEngine is a running engine and a client for it. Server is nil for
// an engine running as another process (startNode).
type testEngine struct {
	*Server
	t    *testing.T
	cfg  Config
	base string // the engine's URL
}

// URL is the engine's base URL.
func (e *testEngine) URL() string { return e.base }

// startEngine starts an engine on a free port with test defaults (a fast
// scripted recognizer, one worker, millisecond webhook retries), changed by
// mod. It is shut down when the test ends.
func startEngine(t *testing.T, mod func(*Config)) *testEngine {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.APIKey = testAPIKey
	cfg.Workers = 1
	cfg.WebhookRetry = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
	cfg.WebhookTimeout = 2 * time.Second
	cfg.Recognizer = &scripted{}
	cfg.DatabaseURL = databaseFor(t)
	if mod != nil {
		mod(&cfg)
	}
	return startEngineWith(t, cfg)
}

func startEngineWith(t *testing.T, cfg Config) *testEngine {
	t.Helper()
	srv, err := Start(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return &testEngine{Server: srv, t: t, cfg: cfg, base: srv.URL()}
}

// testLogger writes the engine's log into the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// request sends an authenticated request and returns the status and body.
func (e *testEngine) request(method, path string, body io.Reader, header http.Header) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.URL()+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// postJSON sends v as JSON.
func (e *testEngine) postJSON(path string, v any) (int, []byte) {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.request(http.MethodPost, path, bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}})
}

// multipartBody builds a submit form with the file at path (if any) and
// the fields.
func multipartBody(t *testing.T, path string, fields map[string]string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if path != "" {
		fw, err := mw.CreateFormFile("file", filepath.Base(path))
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(fw, f)
		f.Close()
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// submit posts a file with fields; header adds request headers.
func (e *testEngine) submit(path string, fields map[string]string, header http.Header) (int, []byte) {
	e.t.Helper()
	body, ct := multipartBody(e.t, path, fields)
	h := http.Header{"Content-Type": {ct}}
	for k, v := range header {
		h[k] = v
	}
	return e.request(http.MethodPost, "/v1/transcriptions", body, h)
}

// mustSubmit submits and expects 201.
func (e *testEngine) mustSubmit(path string, fields map[string]string) deepscript.Transcription {
	e.t.Helper()
	status, body := e.submit(path, fields, nil)
	if status != http.StatusCreated {
		e.t.Fatalf("submit %s: status %d, body %s", filepath.Base(path), status, body)
	}
	return decode[deepscript.Transcription](e.t, body)
}

// transcription GETs the object (withResult) or its status.
func (e *testEngine) transcription(id string, withResult bool) deepscript.Transcription {
	e.t.Helper()
	path := "/v1/transcriptions/" + id
	if !withResult {
		path += "/status"
	}
	status, body := e.request(http.MethodGet, path, nil, nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET %s: status %d, body %s", path, status, body)
	}
	return decode[deepscript.Transcription](e.t, body)
}

// waitStatus polls until the job reaches want (or a final state) and
// returns it with its result.
func (e *testEngine) waitStatus(id string, want deepscript.Status, timeout time.Duration) deepscript.Transcription {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var t deepscript.Transcription
	for time.Now().Before(deadline) {
		t = e.transcription(id, true)
		if t.Status == want || (t.Status.Final() && !want.Final()) {
			break
		}
		if t.Status.Final() && t.Status != want {
			e.t.Fatalf("job %s ended %s (error %+v), want %s", id, t.Status, t.Error, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if t.Status != want {
		e.t.Fatalf("job %s is %s after %s, want %s", id, t.Status, timeout, want)
	}
	return t
}

// registerWebhook registers url for events and returns the endpoint.
func (e *testEngine) registerWebhook(url string, events ...string) deepscript.WebhookEndpoint {
	e.t.Helper()
	status, body := e.postJSON("/v1/webhooks", deepscript.CreateWebhookRequest{URL: url, Events: events})
	if status != http.StatusCreated {
		e.t.Fatalf("register webhook: status %d, body %s", status, body)
	}
	return decode[deepscript.WebhookEndpoint](e.t, body)
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decoding %T from %s: %v", v, body, err)
	}
	return v
}

// errorCode returns the contract error code of an error body.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	return decode[deepscript.ErrorResponse](t, body).Error.Code
}

// receiver is a webhook endpoint for tests: it verifies each delivery with
// the reference library and can fail on purpose.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	secret    string
	got       []delivered
	failFirst int           // answer 500 to this many requests first
	hang      chan struct{} // when set, requests wait for it (or their end)
	arrived   chan struct{}
}

type delivered struct {
	ID, Timestamp, Signature string
	Body                     []byte
	Event                    deepscript.WebhookEvent
	VerifyErr                error
	Status                   int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{arrived: make(chan struct{}, 100)}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setSecret(s string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secret = s
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	hang := rc.hang
	d := delivered{ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"),
		Signature: r.Header.Get("webhook-signature"), Body: body, Status: http.StatusOK}
	wh, err := standardwebhooks.NewWebhook(rc.secret)
	if err == nil {
		err = wh.Verify(body, r.Header)
	}
	d.VerifyErr = err
	json.Unmarshal(body, &d.Event)
	if rc.failFirst > 0 {
		rc.failFirst--
		d.Status = http.StatusInternalServerError
	}
	rc.got = append(rc.got, d)
	rc.mu.Unlock()
	rc.arrived <- struct{}{}
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	w.WriteHeader(d.Status)
}

// deliveries returns what arrived so far.
func (rc *receiver) deliveries() []delivered {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivered(nil), rc.got...)
}

// waitFor waits until n requests arrived and returns them.
func (rc *receiver) waitFor(t *testing.T, n int, timeout time.Duration) []delivered {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if got := rc.deliveries(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook receiver got %d requests after %s, want %d: %+v", len(rc.deliveries()), timeout, n, rc.deliveries())
		}
		select {
		case <-rc.arrived:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct {
	ID, Event string
	Data      deepscript.Transcription
}

// sseStreamResult is everything read from one events stream.
type sseStreamResult struct {
	Status   int
	Header   http.Header
	Events   []sseEvent
	Comments []string
	Retry    string
}

// readEvents opens the job's event stream and reads until the server
// closes it, stop returns true for an event, or the timeout passes.
func (e *testEngine) readEvents(id, lastEventID string, timeout time.Duration, stop func(sseEvent) bool) sseStreamResult {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.URL()+"/v1/transcriptions/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("events: %v", err)
	}
	defer resp.Body.Close()
	res := sseStreamResult{Status: resp.StatusCode, Header: resp.Header}
	sc := bufio.NewScanner(resp.Body)
	var cur sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.Event != "" {
				res.Events = append(res.Events, cur)
				if stop != nil && stop(cur) {
					return res
				}
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, ":"):
			res.Comments = append(res.Comments, strings.TrimSpace(line[1:]))
			if stop != nil && stop(sseEvent{Event: "comment"}) {
				return res
			}
		case strings.HasPrefix(line, "retry: "):
			res.Retry = strings.TrimPrefix(line, "retry: ")
		case strings.HasPrefix(line, "id: "):
			cur.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.Event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.Data); err != nil {
				e.t.Errorf("event data %q: %v", line, err)
			}
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() != nil {
		e.t.Fatalf("events stream still open after %s: %+v", timeout, res)
	}
	return res
}

// audioFiles lists the uploaded audio kept in the engine's data dir.
func (e *testEngine) audioFiles() []string {
	e.t.Helper()
	entries, err := os.ReadDir(e.cfg.AudioDir())
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	return names
}

// decodeInto decodes JSON body into v, failing the test on error.
func decodeInto(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decoding %T from %s: %v", v, body, err)
	}
}
