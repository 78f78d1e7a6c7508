package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"scribe/deepscript"
)

// fakeUpstream is a DeepScript API v1 server (docs/deepscript-api.md)
// for end-to-end tests. It decides each job's fate from a jobPlan chosen by
// the test (looked up by the uploaded file's name), runs the job over a
// short timeline, and injects the faults the plan asks for: failed or lost
// submit answers, dropped, repeated, racing, forged and stale webhooks, cut
// or gappy event streams, failing status polls. It records what it did and
// how the app answered, so tests can compare the app's state with the
// upstream's truth.
type fakeUpstream struct {
	URL    string
	APIKey string
	// Plan returns the fate and faults for an uploaded file; nil means every
	// job completes after a short while with no faults. Set it before the
	// app submits anything.
	Plan func(filename string) jobPlan
	// DeliveryRetries are the waits between attempts of one webhook
	// delivery after a non-2xx answer or a connection failure; after the
	// last the delivery is given up.
	DeliveryRetries []time.Duration

	srv  *httptest.Server
	http *http.Client
	stop chan struct{}
	wg   sync.WaitGroup // timelines and deliveries

	mu         sync.Mutex
	endpoints  map[string]*fakeEndpoint // by id
	jobs       map[string]*fakeJob      // by upstream id
	byKey      map[string]*fakeJob      // by Idempotency-Key
	creates    map[string]int           // jobs created per Idempotency-Key (or filename without one)
	attempts   map[string]int           // submit requests per Idempotency-Key (or filename)
	released   map[string]bool          // filenames whose held jobs may finish
	deliveries []fakeDelivery
	delivering int         // deliveries in progress, retries included
	pollFaults map[int]int // failed /status answers served, by status code
	hung       chan string
	nextID     int
}

// jobPlan is one job's fate and the faults injected around it. The zero
// value completes after 300 ms, delivers its webhook once and streams
// normally.
type jobPlan struct {
	Fail      bool          // end failed (ErrorCode) instead of completed
	ErrorCode string        // for a failed job; "internal" when empty
	Duration  time.Duration // create to final; 300 ms when zero
	Segments  int           // segments in the result; 2 when zero
	Hold      bool          // stay processing until released

	SubmitRefusal  int           // answer every submit with this status (402, 413, 415)
	SubmitFailures []submitFault // the first attempts fail like this, in order
	SubmitHang     bool          // create the job on the first attempt, then never answer it

	Webhook    webhookMode
	Forge      []forgeKind // bad deliveries sent while processing, claiming the opposite fate
	LateReplay bool        // deliver the final webhook-id once more, late

	SSE sseMode

	StatusErrors  int // the first polls of /status answer 500
	StatusLimited int // the next polls answer 429 with Retry-After: 1
}

// submitFault is how one submit attempt fails.
type submitFault string

const (
	submit500        submitFault = "500"
	submit503        submitFault = "503"         // with Retry-After: 1
	submit429        submitFault = "429"         // with Retry-After: 1
	submitReset      submitFault = "reset"       // connection reset, nothing created
	submitLostAnswer submitFault = "lost_answer" // job created, then the connection is reset
)

// webhookMode is how the final event's webhook is delivered.
type webhookMode string

const (
	webhookDeliver    webhookMode = ""           // once, retried on failure
	webhookDrop       webhookMode = "drop"       // never
	webhookTwice      webhookMode = "twice"      // twice in a row, same webhook-id
	webhookConcurrent webhookMode = "concurrent" // twice at once, same webhook-id
)

// forgeKind is a delivery the app must refuse with 401.
type forgeKind string

const (
	forgeSignature forgeKind = "forged" // signed with another secret
	forgeStale     forgeKind = "stale"  // right secret, timestamp 400 s old
	forgeFuture    forgeKind = "future" // right secret, timestamp 400 s ahead
)

// sseMode is how the job's event stream misbehaves.
type sseMode string

const (
	sseNormal    sseMode = ""
	sseCutOnce   sseMode = "cut_once"   // the first connection is reset after the current state
	sseNoFinal   sseMode = "no_final"   // every connection ends cleanly just before the final event
	sseGaps      sseMode = "gaps"       // even-numbered progress events are never sent
	sseReplayAll sseMode = "replay_all" // ignore Last-Event-ID: replay the whole history, old states included
)

// fakeDelivery is one webhook POST and the app's answer.
type fakeDelivery struct {
	Kind       string // "valid", "replay", or a forgeKind
	WebhookID  string
	UpstreamID string
	Event      string
	Attempt    int
	Status     int // the app's answer; 0 when it did not answer
	Err        string
}

type fakeEndpoint struct {
	deepscript.WebhookEndpoint
	secret string
}

type fakeEvent struct {
	id  int64
	typ string
	t   deepscript.Transcription
}

type fakeJob struct {
	name     string // uploaded filename
	key      string
	plan     jobPlan
	fileHash [32]byte
	webhook  string
	t        deepscript.Transcription // current state, without result
	result   *deepscript.Result
	events   []fakeEvent
	changed  chan struct{} // closed and replaced on every event
	release  chan struct{} // closed when a held job may finish
	deleted  bool
	polls    int
	sseConns int
}

// fakeJobView is a copy of a fake job's state for assertions.
type fakeJobView struct {
	ID, Name, Key string
	Plan          jobPlan
	Status        deepscript.Status
	Result        *deepscript.Result
	Error         *deepscript.ErrorBody
	SSEConns      int
	Polls         int
}

// newFakeUpstream starts the fake; it is closed in t.Cleanup, after an app
// started later in the test has stopped.
func newFakeUpstream(t *testing.T) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{
		APIKey:          "test-key-" + randomToken(8),
		DeliveryRetries: []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond},
		http:            &http.Client{Timeout: 15 * time.Second},
		stop:            make(chan struct{}),
		endpoints:       map[string]*fakeEndpoint{},
		jobs:            map[string]*fakeJob{},
		byKey:           map[string]*fakeJob{},
		creates:         map[string]int{},
		attempts:        map[string]int{},
		released:        map[string]bool{},
		pollFaults:      map[int]int{},
		hung:            make(chan string, 16),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/webhooks", f.createWebhook)
	mux.HandleFunc("GET /v1/webhooks", f.listWebhooks)
	mux.HandleFunc("DELETE /v1/webhooks/{id}", f.deleteWebhook)
	mux.HandleFunc("POST /v1/transcriptions", f.createTranscription)
	mux.HandleFunc("GET /v1/transcriptions/{id}", f.getTranscription)
	mux.HandleFunc("GET /v1/transcriptions/{id}/status", f.getStatus)
	mux.HandleFunc("GET /v1/transcriptions/{id}/events", f.streamEvents)
	mux.HandleFunc("DELETE /v1/transcriptions/{id}", f.deleteTranscription)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+f.APIKey {
			apiError(w, http.StatusUnauthorized, "unauthorized", "Missing or wrong API key.")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	f.URL = f.srv.URL
	t.Cleanup(f.close)
	return f
}

// env is the app environment that points it at the fake.
func (f *fakeUpstream) env() map[string]string {
	return map[string]string{"DEEPSCRIPT_URL": f.URL, "DEEPSCRIPT_API_KEY": f.APIKey}
}

func (f *fakeUpstream) close() {
	close(f.stop)
	f.srv.Close()
	f.wg.Wait()
	f.http.CloseIdleConnections()
}

func (f *fakeUpstream) planFor(name string) jobPlan {
	if f.Plan == nil {
		return jobPlan{}
	}
	return f.Plan(name)
}

// ---- webhook endpoints ----

func (f *fakeUpstream) createWebhook(w http.ResponseWriter, r *http.Request) {
	var in deepscript.CreateWebhookRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.URL == "" {
		apiError(w, http.StatusBadRequest, "invalid_request", "Send a JSON body with a url.")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ep := range f.endpoints {
		if ep.URL == in.URL {
			apiError(w, http.StatusConflict, "conflict", "That URL is already registered.")
			return
		}
	}
	key := make([]byte, 24)
	rand.Read(key)
	ep := &fakeEndpoint{WebhookEndpoint: deepscript.WebhookEndpoint{ID: "we_" + randomToken(8), URL: in.URL,
		Events: in.Events, CreatedAt: time.Now().UTC()}, secret: "whsec_" + base64.StdEncoding.EncodeToString(key)}
	f.endpoints[ep.ID] = ep
	out := ep.WebhookEndpoint
	out.Secret = ep.secret
	writeAPIJSON(w, http.StatusCreated, out)
}

func (f *fakeUpstream) listWebhooks(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := deepscript.WebhookEndpointList{Data: []deepscript.WebhookEndpoint{}}
	for _, ep := range f.endpoints {
		list.Data = append(list.Data, ep.WebhookEndpoint)
	}
	writeAPIJSON(w, http.StatusOK, list)
}

func (f *fakeUpstream) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.endpoints[r.PathValue("id")] == nil {
		apiError(w, http.StatusNotFound, "not_found", "No such webhook endpoint.")
		return
	}
	delete(f.endpoints, r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
}

// endpointFor returns the registered endpoint for url; the caller holds mu.
func (f *fakeUpstream) endpointFor(url string) *fakeEndpoint {
	for _, ep := range f.endpoints {
		if ep.URL == url {
			return ep
		}
	}
	return nil
}

// endpoint is the one registered endpoint, once the app has registered it.
func (f *fakeUpstream) endpoint() (url, secret string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ep := range f.endpoints {
		return ep.URL, ep.secret, true
	}
	return "", "", false
}

// ---- transcriptions ----

func (f *fakeUpstream) createTranscription(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 255 {
		apiError(w, http.StatusBadRequest, "invalid_request", "Idempotency-Key is over 255 characters.")
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request", "Send multipart/form-data.")
		return
	}
	fields := map[string]string{}
	var name string
	var hash [32]byte
	var gotFile bool
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			apiError(w, http.StatusBadRequest, "invalid_request", "Unreadable multipart body.")
			return
		}
		if p.FormName() == "file" {
			name, gotFile = p.FileName(), true
			h := sha256.New()
			if _, err := io.Copy(h, p); err != nil {
				apiError(w, http.StatusBadRequest, "invalid_request", "Unreadable file part.")
				return
			}
			copy(hash[:], h.Sum(nil))
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(p, 4<<10))
		fields[p.FormName()] = string(b)
	}
	if !gotFile {
		apiError(w, http.StatusBadRequest, "invalid_request", "The file field is required.")
		return
	}
	plan := f.planFor(name)
	counter := key
	if counter == "" {
		counter = "file:" + name
	}
	f.mu.Lock()
	attempt := f.attempts[counter]
	f.attempts[counter]++
	f.mu.Unlock()

	switch plan.SubmitRefusal {
	case 0:
	case http.StatusPaymentRequired:
		apiError(w, plan.SubmitRefusal, "insufficient_balance", "Your balance is too low for this file.")
		return
	case http.StatusRequestEntityTooLarge:
		apiError(w, plan.SubmitRefusal, "file_too_large", "The file is over the size limit.")
		return
	case http.StatusUnsupportedMediaType:
		apiError(w, plan.SubmitRefusal, "unsupported_media", "The file has no audio stream we can decode.")
		return
	default:
		apiError(w, plan.SubmitRefusal, "invalid_request", "Refused.")
		return
	}
	var fault submitFault
	if attempt < len(plan.SubmitFailures) {
		fault = plan.SubmitFailures[attempt]
	}
	switch fault {
	case submit500:
		apiError(w, http.StatusInternalServerError, "internal", "Something broke.")
		return
	case submit503:
		w.Header().Set("Retry-After", "1")
		apiError(w, http.StatusServiceUnavailable, "unavailable", "Try again shortly.")
		return
	case submit429:
		w.Header().Set("Retry-After", "1")
		apiError(w, http.StatusTooManyRequests, "rate_limited", "Slow down.")
		return
	case submitReset:
		resetConn(w)
		return
	}

	webhookURL := fields["webhook_url"]
	f.mu.Lock()
	if webhookURL != "" && f.endpointFor(webhookURL) == nil {
		f.mu.Unlock()
		apiError(w, http.StatusUnprocessableEntity, "invalid_webhook_url", "webhook_url is not a registered endpoint.")
		return
	}
	if j := f.byKey[key]; key != "" && j != nil {
		if j.fileHash != hash {
			f.mu.Unlock()
			apiError(w, http.StatusConflict, "conflict", "Idempotency-Key reused with a different file.")
			return
		}
		out := j.t
		f.mu.Unlock()
		if fault == submitLostAnswer {
			resetConn(w)
			return
		}
		writeAPIJSON(w, http.StatusOK, out)
		return
	}
	j := f.newJobLocked(name, key, plan, hash, webhookURL, fields["metadata"], fields["language"])
	f.creates[counter]++
	out := j.t
	f.mu.Unlock()

	if plan.SubmitHang && attempt == 0 {
		// The job exists upstream, but its id never reaches the app: the
		// answer is held until the app goes away (a crash mid-submit).
		select {
		case f.hung <- name:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-f.stop:
		}
		return
	}
	if fault == submitLostAnswer {
		resetConn(w)
		return
	}
	writeAPIJSON(w, http.StatusCreated, out)
}

// newJobLocked creates a job and starts its timeline; the caller holds mu.
func (f *fakeUpstream) newJobLocked(name, key string, plan jobPlan, hash [32]byte, webhookURL, metadata, language string) *fakeJob {
	f.nextID++
	now := time.Now().UTC()
	if language == "" {
		language = "en"
	}
	j := &fakeJob{name: name, key: key, plan: plan, fileHash: hash, webhook: webhookURL,
		changed: make(chan struct{}), release: make(chan struct{})}
	j.t = deepscript.Transcription{ID: fmt.Sprintf("tr_%016x", f.nextID), Status: deepscript.StatusQueued,
		CreatedAt: now, UpdatedAt: now, Language: language, Metadata: metadata}
	if !plan.Hold || f.released[name] {
		close(j.release)
	}
	f.jobs[j.t.ID] = j
	if key != "" {
		f.byKey[key] = j
	}
	f.appendEventLocked(j, deepscript.EventStatus)
	f.wg.Add(1)
	go f.runTimeline(j)
	return j
}

// appendEventLocked records j's current state as the next event and wakes
// its streams; the caller holds mu.
func (f *fakeUpstream) appendEventLocked(j *fakeJob, typ string) {
	j.t.UpdatedAt = time.Now().UTC()
	j.events = append(j.events, fakeEvent{id: int64(len(j.events) + 1), typ: typ, t: j.t})
	close(j.changed)
	j.changed = make(chan struct{})
}

// runTimeline moves a job queued → processing (three progress steps) →
// final over plan.Duration, sending the plan's forged deliveries while it
// is processing and the final webhook at the end.
func (f *fakeUpstream) runTimeline(j *fakeJob) {
	defer f.wg.Done()
	d := j.plan.Duration
	if d <= 0 {
		d = 300 * time.Millisecond
	}
	step := d / 5
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-f.stop:
			return false
		}
	}
	if !wait(step) {
		return
	}
	f.mu.Lock()
	j.t.Status, j.t.Progress = deepscript.StatusProcessing, 0.1
	f.appendEventLocked(j, deepscript.EventStatus)
	f.mu.Unlock()
	for _, p := range []float64{0.4, 0.7} {
		if !wait(step) {
			return
		}
		f.mu.Lock()
		j.t.Progress = p
		f.appendEventLocked(j, deepscript.EventProgress)
		f.mu.Unlock()
	}
	for _, kind := range j.plan.Forge {
		f.sendForged(j, kind)
	}
	if !wait(step) {
		return
	}
	select {
	case <-j.release:
	case <-f.stop:
		return
	}
	f.mu.Lock()
	stem := strings.TrimSuffix(j.name, filepath.Ext(j.name))
	if j.plan.Fail {
		code := j.plan.ErrorCode
		if code == "" {
			code = "internal"
		}
		j.t.Status = deepscript.StatusFailed
		j.t.Error = &deepscript.ErrorBody{Code: code, Message: stem + ": the recogniser gave up on this audio"}
		f.appendEventLocked(j, deepscript.EventFailed)
	} else {
		j.t.Status, j.t.Progress = deepscript.StatusCompleted, 1
		j.result = fakeResult(stem, j.plan.Segments)
		dur := j.result.Duration
		j.t.Duration = &dur
		f.appendEventLocked(j, deepscript.EventCompleted)
	}
	f.mu.Unlock()
	f.deliverFinal(j)
}

// fakeResult is a transcript whose every segment names the file, so a test
// can tell whose transcript it downloaded.
func fakeResult(stem string, n int) *deepscript.Result {
	if n <= 0 {
		n = 2
	}
	r := &deepscript.Result{Language: "en", Duration: float64(n)}
	var texts []string
	for k := range n {
		text := fmt.Sprintf("%s says part %d of %d", stem, k+1, n)
		texts = append(texts, text)
		r.Segments = append(r.Segments, deepscript.Segment{Start: float64(k), End: float64(k) + 0.9, Text: text,
			Words: []deepscript.Word{{Word: stem, Start: float64(k) + 0.1, End: float64(k) + 0.5, Confidence: 0.9}}})
	}
	r.Text = strings.Join(texts, " ")
	return r
}

func (f *fakeUpstream) job(w http.ResponseWriter, r *http.Request) (*fakeJob, bool) {
	j := f.jobs[r.PathValue("id")]
	if j == nil || j.deleted {
		apiError(w, http.StatusNotFound, "not_found", "No such transcription.")
		return nil, false
	}
	return j, true
}

func (f *fakeUpstream) getTranscription(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	j, ok := f.job(w, r)
	if !ok {
		f.mu.Unlock()
		return
	}
	out := j.t
	out.Result = j.result
	f.mu.Unlock()
	writeAPIJSON(w, http.StatusOK, out)
}

func (f *fakeUpstream) getStatus(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	j, ok := f.job(w, r)
	if !ok {
		f.mu.Unlock()
		return
	}
	j.polls++
	n, plan, out := j.polls, j.plan, j.t
	fault := 0
	switch {
	case n <= plan.StatusErrors:
		fault = http.StatusInternalServerError
	case n <= plan.StatusErrors+plan.StatusLimited:
		fault = http.StatusTooManyRequests
	}
	f.pollFaults[fault]++
	f.mu.Unlock()
	switch fault {
	case http.StatusInternalServerError:
		apiError(w, http.StatusInternalServerError, "internal", "Status is down.")
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		apiError(w, http.StatusTooManyRequests, "rate_limited", "Poll less often.")
	default:
		writeAPIJSON(w, http.StatusOK, out)
	}
}

func (f *fakeUpstream) deleteTranscription(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.job(w, r)
	if !ok {
		return
	}
	j.deleted = true
	w.WriteHeader(http.StatusNoContent)
}

// streamEvents serves GET /v1/transcriptions/{id}/events per the contract
// (current state first, or a replay after Last-Event-ID; retry; pings;
// close after the final event), bent by the job's sseMode.
func (f *fakeUpstream) streamEvents(w http.ResponseWriter, r *http.Request) {
	last, _ := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
	f.mu.Lock()
	j, ok := f.job(w, r)
	if !ok {
		f.mu.Unlock()
		return
	}
	j.sseConns++
	conn, mode, total := j.sseConns, j.plan.SSE, int64(len(j.events))
	final := j.t.Status.Final()
	f.mu.Unlock()
	if final && last >= total && mode != sseReplayAll {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if _, err := io.WriteString(w, "retry: 2000\n\n"); err != nil {
		return
	}
	rc.Flush()

	// next is the index in j.events of the next event to send.
	next := int(min(max(last, 0), total))
	switch {
	case mode == sseReplayAll:
		next = 0
	case last <= 0:
		next = int(total) - 1 // the current state only
	}
	sent := 0
	ping := time.NewTicker(time.Second)
	defer ping.Stop()
	for {
		f.mu.Lock()
		pending := append([]fakeEvent(nil), j.events[next:]...)
		changed := j.changed
		f.mu.Unlock()
		for _, ev := range pending {
			next++
			isFinal := ev.t.Status.Final()
			switch {
			case mode == sseNoFinal && isFinal:
				return // a clean end, just before the news that matters
			case mode == sseCutOnce && conn == 1 && sent >= 1:
				resetConn(w)
				return
			case mode == sseGaps && sent > 0 && ev.typ == deepscript.EventProgress && ev.id%2 == 0:
				continue
			}
			data, _ := json.Marshal(ev.t)
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.id, ev.typ, data); err != nil {
				return
			}
			rc.Flush()
			sent++
			if isFinal {
				return
			}
		}
		select {
		case <-changed:
		case <-ping.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return
			}
			rc.Flush()
		case <-r.Context().Done():
			return
		case <-f.stop:
			return
		}
	}
}

// ---- webhook deliveries ----

// deliverFinal sends the job's final event as its plan says.
func (f *fakeUpstream) deliverFinal(j *fakeJob) {
	f.mu.Lock()
	ev := deepscript.WebhookEvent{ID: j.t.ID, CreatedAt: j.t.UpdatedAt}
	if j.t.Status == deepscript.StatusCompleted {
		ev.Event, ev.Result = deepscript.EventCompleted, j.result
	} else {
		ev.Event, ev.Error = deepscript.EventFailed, j.t.Error
	}
	ep := f.endpointFor(j.webhook)
	plan := j.plan
	f.mu.Unlock()
	if ep == nil || plan.Webhook == webhookDrop {
		return
	}
	body, _ := json.Marshal(ev)
	msgID := "msg_" + j.t.ID + "_final"
	send := func(kind string) {
		f.deliver(deliveryRequest{kind: kind, url: ep.URL, secret: ep.secret, msgID: msgID, upstreamID: ev.ID,
			event: ev.Event, body: body}, true)
	}
	switch plan.Webhook {
	case webhookDeliver:
		f.background(func() { send("valid") })
	case webhookTwice:
		f.background(func() { send("valid"); send("valid") })
	case webhookConcurrent:
		f.background(func() { send("valid") })
		f.background(func() { send("valid") })
	}
	if plan.LateReplay {
		f.background(func() {
			t := time.NewTimer(700 * time.Millisecond)
			defer t.Stop()
			select {
			case <-t.C:
				send("replay")
			case <-f.stop:
			}
		})
	}
}

// sendForged posts a delivery claiming the opposite of the job's fate that
// the app must refuse (401): a wrong secret, or a timestamp out of range.
func (f *fakeUpstream) sendForged(j *fakeJob, kind forgeKind) {
	f.mu.Lock()
	ep := f.endpointFor(j.webhook)
	id := j.t.ID
	f.mu.Unlock()
	if ep == nil {
		return
	}
	ev := deepscript.WebhookEvent{ID: id, CreatedAt: time.Now().UTC()}
	if j.plan.Fail {
		ev.Event, ev.Result = deepscript.EventCompleted, &deepscript.Result{Text: "FORGED", Segments: []deepscript.Segment{{Text: "FORGED"}}}
	} else {
		ev.Event, ev.Error = deepscript.EventFailed, &deepscript.ErrorBody{Code: "internal", Message: "FORGED failure"}
	}
	body, _ := json.Marshal(ev)
	req := deliveryRequest{kind: string(kind), url: ep.URL, secret: ep.secret, msgID: "msg_" + id + "_" + string(kind),
		upstreamID: id, event: ev.Event, body: body}
	switch kind {
	case forgeSignature:
		req.secret = newWhsec()
	case forgeStale:
		req.at = time.Now().Add(-400 * time.Second)
	case forgeFuture:
		req.at = time.Now().Add(400 * time.Second)
	}
	f.deliver(req, false)
}

// deliveryRequest is one webhook to post.
type deliveryRequest struct {
	kind, url, secret, msgID, upstreamID, event string
	body                                        []byte
	at                                          time.Time // webhook-timestamp; now when zero
	tamper                                      func([]byte) []byte
}

// deliver posts a signed webhook, retrying on failure per DeliveryRetries
// when retry is set, and records every attempt. It returns the last answer.
func (f *fakeUpstream) deliver(d deliveryRequest, retry bool) int {
	f.mu.Lock()
	f.delivering++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.delivering--
		f.mu.Unlock()
	}()
	for attempt := 1; ; attempt++ {
		status, err := f.post(d)
		rec := fakeDelivery{Kind: d.kind, WebhookID: d.msgID, UpstreamID: d.upstreamID, Event: d.event, Attempt: attempt, Status: status}
		if err != nil {
			rec.Err = err.Error()
		}
		f.mu.Lock()
		f.deliveries = append(f.deliveries, rec)
		f.mu.Unlock()
		if !retry || (status >= 200 && status <= 299) || attempt > len(f.DeliveryRetries) {
			return status
		}
		t := time.NewTimer(f.DeliveryRetries[attempt-1])
		select {
		case <-t.C:
		case <-f.stop:
			t.Stop()
			return status
		}
	}
}

// post sends one attempt, signed with d.secret at d.at (or now).
func (f *fakeUpstream) post(d deliveryRequest) (int, error) {
	at := d.at
	if at.IsZero() {
		at = time.Now()
	}
	wh, err := standardwebhooks.NewWebhook(d.secret)
	if err != nil {
		return 0, err
	}
	sig, err := wh.Sign(d.msgID, at, d.body)
	if err != nil {
		return 0, err
	}
	body := d.body
	if d.tamper != nil {
		body = d.tamper(body)
	}
	req, err := http.NewRequest(http.MethodPost, d.url, strings.NewReader(string(body)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(standardwebhooks.HeaderWebhookID, d.msgID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	resp, err := f.http.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// background runs fn as part of the fake, so close waits for it.
func (f *fakeUpstream) background(fn func()) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		fn()
	}()
}

// ---- for tests ----

// release lets held jobs with these filenames finish (now, or as soon as
// they are created).
func (f *fakeUpstream) release(names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range names {
		if f.released[n] {
			continue
		}
		f.released[n] = true
		for _, j := range f.jobs {
			if j.name == n {
				close(j.release)
			}
		}
	}
}

// jobByKey returns the job created under an Idempotency-Key.
func (f *fakeUpstream) jobByKey(key string) (fakeJobView, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.byKey[key]
	if j == nil {
		return fakeJobView{}, false
	}
	return j.view(), true
}

func (j *fakeJob) view() fakeJobView {
	return fakeJobView{ID: j.t.ID, Name: j.name, Key: j.key, Plan: j.plan, Status: j.t.Status, Result: j.result,
		Error: j.t.Error, SSEConns: j.sseConns, Polls: j.polls}
}

// createsFor is how many jobs were created under key, and how many submit
// requests carried it.
func (f *fakeUpstream) createsFor(key string) (creates, attempts int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.creates[key], f.attempts[key]
}

// jobCount is how many jobs exist upstream.
func (f *fakeUpstream) jobCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.jobs)
}

// allDeliveries is a copy of every delivery attempt so far.
func (f *fakeUpstream) allDeliveries() []fakeDelivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeDelivery(nil), f.deliveries...)
}

// polls is how many /status calls were answered with each status (0 for
// a good answer).
func (f *fakeUpstream) polls() map[int]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int]int{}
	for k, v := range f.pollFaults {
		out[k] = v
	}
	return out
}

// deliveriesInFlight is how many deliveries are still being attempted.
func (f *fakeUpstream) deliveriesInFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delivering
}

// ---- helpers ----

func apiError(w http.ResponseWriter, status int, code, message string) {
	writeAPIJSON(w, status, deepscript.ErrorResponse{Error: deepscript.ErrorBody{Code: code, Message: message}})
}

func writeAPIJSON(w http.ResponseWriter, status int, v any) {
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

func newWhsec() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}
