// Package deepscripttest provides a DeepScript API v1 server for tests, as
// net/http/httptest does for net/http: a real HTTP server on loopback that
// follows the API contract and injects the faults each job's Plan asks
// for — failed or lost submit answers; dropped, repeated, racing, forged
// and stale webhooks; cut or gappy event streams; failing status polls. It
// records what it did and how its webhooks were answered, so a test can
// compare the state under test with the upstream's truth.
package deepscripttest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"scribe/deepscript"
)

// Server is a fake DeepScript upstream. Set its exported fields before the
// code under test submits anything.
type Server struct {
	URL    string
	APIKey string
	// Plan returns the fate and faults for an uploaded file; nil means
	// every job gets the zero Plan.
	Plan func(filename string) Plan
	// OnCreate, when set, is called with each new job before the answer
	// to its create is sent.
	OnCreate func(Job)
	// DeliveryRetries are the waits between attempts of one webhook
	// delivery after a non-2xx answer or a connection failure; after the
	// last the delivery is given up.
	DeliveryRetries []time.Duration

	srv  *httptest.Server
	http *http.Client
	stop chan struct{}
	wg   sync.WaitGroup // timelines and deliveries

	mu         sync.Mutex
	endpoints  map[string]*endpoint // by id
	jobs       map[string]*fakeJob  // by upstream id
	byKey      map[string]*fakeJob  // by Idempotency-Key
	creates    map[string]int       // jobs created per Idempotency-Key (or filename without one)
	attempts   map[string]int       // submit requests per Idempotency-Key (or filename)
	released   map[string]bool      // filenames whose held jobs may finish
	deliveries []Delivery
	delivering int // deliveries in progress, retries included
	polls      []Poll
	streams    int         // event streams open now
	maxStreams int         // most event streams ever open at once
	streamOpen []time.Time // when each event stream was answered
	hung       chan string
	nextID     int
}

// Job is a copy of one upstream job's state.
type Job struct {
	ID, Name, Key string // upstream id, uploaded filename, Idempotency-Key
	Plan          Plan
	Status        deepscript.Status
	Result        *deepscript.Result
	Error         *deepscript.ErrorBody
	SSEConns      int // event stream connections served
	Polls         int // /status calls answered
	Fetches       int // GET /v1/transcriptions/{id} answered
	Deleted       bool
}

// Delivery is one webhook POST and the receiver's answer.
type Delivery struct {
	Kind       DeliveryKind
	WebhookID  string
	UpstreamID string
	Event      string
	Attempt    int
	Status     int // the receiver's answer; 0 when it did not answer
	Err        string
}

// Poll is one GET /v1/transcriptions/{id}/status and the status it was
// answered with.
type Poll struct {
	UpstreamID string
	At         time.Time
	Status     int
}

// NewServer starts a fake upstream; it is closed in t.Cleanup, so after
// anything started later in the test has stopped.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		APIKey:          "test-key-" + randomToken(8),
		DeliveryRetries: []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond},
		http:            &http.Client{Timeout: 15 * time.Second},
		stop:            make(chan struct{}),
		endpoints:       map[string]*endpoint{},
		jobs:            map[string]*fakeJob{},
		byKey:           map[string]*fakeJob{},
		creates:         map[string]int{},
		attempts:        map[string]int{},
		released:        map[string]bool{},
		hung:            make(chan string, 16),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/webhooks", s.createWebhook)
	mux.HandleFunc("GET /v1/webhooks", s.listWebhooks)
	mux.HandleFunc("DELETE /v1/webhooks/{id}", s.deleteWebhook)
	mux.HandleFunc("POST /v1/transcriptions", s.createTranscription)
	mux.HandleFunc("GET /v1/transcriptions/{id}", s.getTranscription)
	mux.HandleFunc("GET /v1/transcriptions/{id}/status", s.getStatus)
	mux.HandleFunc("GET /v1/transcriptions/{id}/events", s.streamEvents)
	mux.HandleFunc("DELETE /v1/transcriptions/{id}", s.deleteTranscription)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+s.APIKey {
			apiError(w, http.StatusUnauthorized, "unauthorized", "Missing or wrong API key.")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	s.URL = s.srv.URL
	t.Cleanup(s.close)
	return s
}

func (s *Server) close() {
	close(s.stop)
	s.srv.Close()
	s.wg.Wait()
	s.http.CloseIdleConnections()
}

// Client returns a client of the server that logs nothing.
func (s *Server) Client() *deepscript.Client {
	c := deepscript.New(s.URL, s.APIKey, nil)
	c.Logger = slog.New(slog.DiscardHandler)
	return c
}

// Create submits a small file named filename as scribe does, with key as
// both Idempotency-Key and metadata, and returns the answer.
func (s *Server) Create(t testing.TB, filename, key string) deepscript.Transcription {
	t.Helper()
	tr, err := s.Client().CreateTranscription(context.Background(), deepscript.CreateRequest{
		File: strings.NewReader("audio of " + filename), Filename: filename, Metadata: key, IdempotencyKey: key})
	if err != nil {
		t.Fatalf("deepscripttest: create %s: %v", filename, err)
	}
	return *tr
}

func (s *Server) planFor(name string) Plan {
	if s.Plan == nil {
		return Plan{}
	}
	return s.Plan(name)
}

// Release lets held jobs with these filenames finish (now, or as soon as
// they are created).
func (s *Server) Release(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		if s.released[n] {
			continue
		}
		s.released[n] = true
		for _, j := range s.jobs {
			if j.name == n {
				close(j.release)
			}
		}
	}
}

// Hung receives the filename of each job whose create answer a
// Plan.SubmitHang holds back, once the job exists.
func (s *Server) Hung() <-chan string { return s.hung }

// JobByKey returns the job created under an Idempotency-Key.
func (s *Server) JobByKey(key string) (Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.byKey[key]
	if j == nil {
		return Job{}, false
	}
	return j.view(), true
}

// Creates is how many jobs were created under key, and how many submit
// requests carried it.
func (s *Server) Creates(key string) (created, attempts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creates[key], s.attempts[key]
}

// JobCount is how many jobs exist upstream, deleted ones included.
func (s *Server) JobCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.jobs)
}

// Deliveries is a copy of every webhook delivery attempt so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// DeliveriesInFlight is how many deliveries are still being attempted.
func (s *Server) DeliveriesInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivering
}

// Polls is a copy of every /status call answered so far.
func (s *Server) Polls() []Poll {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Poll(nil), s.polls...)
}

// Streams is how many event streams are open now and the most that ever
// were at once.
func (s *Server) Streams() (open, most int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams, s.maxStreams
}

// StreamOpens is when each event stream was answered, in order.
func (s *Server) StreamOpens() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.streamOpen...)
}

// ---- helpers ----

func apiError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, deepscript.ErrorResponse{Error: deepscript.ErrorBody{Code: code, Message: message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// resetConn ends the request's connection with a TCP reset, after flushing
// whatever was already written.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}
