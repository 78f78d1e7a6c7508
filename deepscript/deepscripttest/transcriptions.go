package deepscripttest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"scribe/deepscript"
)

type event struct {
	id  int64
	typ string
	t   deepscript.Transcription
}

type fakeJob struct {
	name     string // uploaded filename
	key      string
	plan     Plan
	fileHash [32]byte
	webhook  string
	t        deepscript.Transcription // current state, without result
	result   *deepscript.Result
	events   []event
	changed  chan struct{} // closed and replaced on every event
	release  chan struct{} // closed when a held job may finish
	deleted  bool
	polls    int
	fetches  int
	sseConns int
}

func (j *fakeJob) view() Job {
	return Job{ID: j.t.ID, Name: j.name, Key: j.key, Plan: j.plan, Status: j.t.Status, Result: j.result,
		Error: j.t.Error, SSEConns: j.sseConns, Polls: j.polls, Fetches: j.fetches, Deleted: j.deleted}
}

func (s *Server) createTranscription(w http.ResponseWriter, r *http.Request) {
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
	plan := s.planFor(name)
	counter := key
	if counter == "" {
		counter = "file:" + name
	}
	s.mu.Lock()
	attempt := s.attempts[counter]
	s.attempts[counter]++
	s.mu.Unlock()

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
	var fault SubmitFault
	if attempt < len(plan.SubmitFailures) {
		fault = plan.SubmitFailures[attempt]
	}
	switch fault {
	case Submit500:
		apiError(w, http.StatusInternalServerError, "internal", "Something broke.")
		return
	case Submit503:
		w.Header().Set("Retry-After", "1")
		apiError(w, http.StatusServiceUnavailable, "unavailable", "Try again shortly.")
		return
	case Submit429:
		w.Header().Set("Retry-After", "1")
		apiError(w, http.StatusTooManyRequests, "rate_limited", "Slow down.")
		return
	case SubmitReset:
		resetConn(w)
		return
	}

	webhookURL := fields["webhook_url"]
	s.mu.Lock()
	if webhookURL != "" && s.endpointFor(webhookURL) == nil {
		s.mu.Unlock()
		apiError(w, http.StatusUnprocessableEntity, "invalid_webhook_url", "webhook_url is not a registered endpoint.")
		return
	}
	if j := s.byKey[key]; key != "" && j != nil {
		if j.fileHash != hash {
			s.mu.Unlock()
			apiError(w, http.StatusConflict, "conflict", "Idempotency-Key reused with a different file.")
			return
		}
		out := j.t
		s.mu.Unlock()
		if fault == SubmitLostAnswer {
			resetConn(w)
			return
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	j := s.newJobLocked(name, key, plan, hash, webhookURL, fields["metadata"], fields["language"])
	s.creates[counter]++
	out, view := j.t, j.view()
	s.mu.Unlock()
	if s.OnCreate != nil {
		s.OnCreate(view)
	}

	if plan.SubmitHang && attempt == 0 {
		// The job exists upstream, but its id never reaches the client:
		// the answer is held until the client goes away (a crash
		// mid-submit).
		select {
		case s.hung <- name:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-s.stop:
		}
		return
	}
	if fault == SubmitLostAnswer {
		resetConn(w)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

// newJobLocked creates a job and starts its timeline; the caller holds mu.
func (s *Server) newJobLocked(name, key string, plan Plan, hash [32]byte, webhookURL, metadata, language string) *fakeJob {
	s.nextID++
	now := time.Now().UTC()
	if language == "" {
		language = "en"
	}
	j := &fakeJob{name: name, key: key, plan: plan, fileHash: hash, webhook: webhookURL,
		changed: make(chan struct{}), release: make(chan struct{})}
	j.t = deepscript.Transcription{ID: fmt.Sprintf("tr_%016x", s.nextID), Status: deepscript.StatusQueued,
		CreatedAt: now, UpdatedAt: now, Language: language, Metadata: metadata}
	if !plan.Hold || s.released[name] {
		close(j.release)
	}
	s.jobs[j.t.ID] = j
	if key != "" {
		s.byKey[key] = j
	}
	s.appendEventLocked(j, deepscript.EventStatus)
	s.wg.Add(1)
	go s.runTimeline(j)
	return j
}

// appendEventLocked records j's current state as the next event and wakes
// its streams; the caller holds mu.
func (s *Server) appendEventLocked(j *fakeJob, typ string) {
	j.t.UpdatedAt = time.Now().UTC()
	j.events = append(j.events, event{id: int64(len(j.events) + 1), typ: typ, t: j.t})
	close(j.changed)
	j.changed = make(chan struct{})
}

// runTimeline moves a job queued → processing (three progress steps) →
// final over plan.Duration, sending the plan's forged deliveries while it
// is processing and the final webhook at the end.
func (s *Server) runTimeline(j *fakeJob) {
	defer s.wg.Done()
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
		case <-s.stop:
			return false
		}
	}
	if !wait(step) {
		return
	}
	s.mu.Lock()
	j.t.Status, j.t.Progress = deepscript.StatusProcessing, 0.1
	s.appendEventLocked(j, deepscript.EventStatus)
	s.mu.Unlock()
	for _, p := range []float64{0.4, 0.7} {
		if !wait(step) {
			return
		}
		s.mu.Lock()
		j.t.Progress = p
		s.appendEventLocked(j, deepscript.EventProgress)
		s.mu.Unlock()
	}
	for _, kind := range j.plan.Forge {
		s.sendForged(j, kind)
	}
	if !wait(step) {
		return
	}
	select {
	case <-j.release:
	case <-s.stop:
		return
	}
	s.mu.Lock()
	stem := strings.TrimSuffix(j.name, filepath.Ext(j.name))
	if j.plan.Fail {
		code := j.plan.ErrorCode
		if code == "" {
			code = "internal"
		}
		j.t.Status = deepscript.StatusFailed
		j.t.Error = &deepscript.ErrorBody{Code: code, Message: stem + ": the recogniser gave up on this audio"}
		s.appendEventLocked(j, deepscript.EventFailed)
	} else {
		j.t.Status, j.t.Progress = deepscript.StatusCompleted, 1
		j.result = Result(stem, j.plan.Segments)
		dur := j.result.Duration
		j.t.Duration = &dur
		s.appendEventLocked(j, deepscript.EventCompleted)
	}
	s.mu.Unlock()
	s.deliverFinal(j)
}

// Result is the transcript a job of a file named stem (without its
// extension) ends with: every segment names the file, so a test can tell
// whose transcript it has. segments <= 0 means 2.
func Result(stem string, segments int) *deepscript.Result {
	if segments <= 0 {
		segments = 2
	}
	r := &deepscript.Result{Language: "en", Duration: float64(segments)}
	var texts []string
	for k := range segments {
		text := fmt.Sprintf("%s says part %d of %d", stem, k+1, segments)
		texts = append(texts, text)
		r.Segments = append(r.Segments, deepscript.Segment{Start: float64(k), End: float64(k) + 0.9, Text: text,
			Words: []deepscript.Word{{Word: stem, Start: float64(k) + 0.1, End: float64(k) + 0.5, Confidence: 0.9}}})
	}
	r.Text = strings.Join(texts, " ")
	return r
}

// job finds the request's job, answering 404 when there is none; the
// caller holds mu.
func (s *Server) job(w http.ResponseWriter, r *http.Request) (*fakeJob, bool) {
	j := s.jobs[r.PathValue("id")]
	if j == nil || j.deleted {
		apiError(w, http.StatusNotFound, "not_found", "No such transcription.")
		return nil, false
	}
	return j, true
}

func (s *Server) getTranscription(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	j, ok := s.job(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	j.fetches++
	out := j.t
	out.Result = j.result
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	j, ok := s.job(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	j.polls++
	n, plan, out := j.polls, j.plan, j.t
	status := http.StatusOK
	switch {
	case n <= plan.StatusErrors:
		status = http.StatusInternalServerError
	case n <= plan.StatusErrors+plan.StatusLimited:
		status = http.StatusTooManyRequests
	}
	s.polls = append(s.polls, Poll{UpstreamID: j.t.ID, At: time.Now(), Status: status})
	s.mu.Unlock()
	switch status {
	case http.StatusInternalServerError:
		apiError(w, status, "internal", "Status is down.")
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		apiError(w, status, "rate_limited", "Poll less often.")
	default:
		writeJSON(w, status, out)
	}
}

func (s *Server) deleteTranscription(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.job(w, r)
	if !ok {
		return
	}
	j.deleted = true
	w.WriteHeader(http.StatusNoContent)
}

// streamEvents serves GET /v1/transcriptions/{id}/events per the contract
// (current state first, or a replay after Last-Event-ID; retry; pings;
// close after the final event), bent by the job's SSEMode.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) {
	last, _ := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
	s.mu.Lock()
	j, ok := s.job(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	j.sseConns++
	conn, mode, total := j.sseConns, j.plan.SSE, int64(len(j.events))
	final := j.t.Status.Final()
	if final && last >= total && mode != SSEReplayAll {
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.streams++
	s.maxStreams = max(s.maxStreams, s.streams)
	s.streamOpen = append(s.streamOpen, time.Now())
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.streams--
		s.mu.Unlock()
	}()
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
	case mode == SSEReplayAll:
		next = 0
	case last <= 0:
		next = int(total) - 1 // the current state only
	}
	sent := 0
	ping := time.NewTicker(time.Second)
	defer ping.Stop()
	for {
		s.mu.Lock()
		pending := append([]event(nil), j.events[next:]...)
		changed := j.changed
		s.mu.Unlock()
		for _, ev := range pending {
			next++
			isFinal := ev.t.Status.Final()
			switch {
			case mode == SSENoFinal && isFinal:
				return // a clean end, just before the news that matters
			case mode == SSECutOnce && conn == 1 && sent >= 1:
				resetConn(w)
				return
			case mode == SSEGaps && sent > 0 && ev.typ == deepscript.EventProgress && ev.id%2 == 0:
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
		case <-s.stop:
			return
		}
	}
}
