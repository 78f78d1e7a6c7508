package deepscripttest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"scribe/deepscript"
)

type endpoint struct {
	deepscript.WebhookEndpoint
	secret string
}

// NewSecret returns a fresh endpoint secret, "whsec_" and 24 random bytes
// in base64.
func NewSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// WebhookHeaders are the Standard Webhooks headers of a delivery of body
// with webhook-id msgID, signed with secret at time at.
func WebhookHeaders(secret, msgID string, at time.Time, body []byte) (http.Header, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, err
	}
	sig, err := wh.Sign(msgID, at, body)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(standardwebhooks.HeaderWebhookID, msgID)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	return h, nil
}

// ---- webhook endpoints ----

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var in deepscript.CreateWebhookRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.URL == "" {
		apiError(w, http.StatusBadRequest, "invalid_request", "Send a JSON body with a url.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.endpointFor(in.URL) != nil {
		apiError(w, http.StatusConflict, "conflict", "That URL is already registered.")
		return
	}
	ep := &endpoint{WebhookEndpoint: deepscript.WebhookEndpoint{ID: "we_" + randomToken(8), URL: in.URL,
		Events: in.Events, CreatedAt: time.Now().UTC()}, secret: NewSecret()}
	s.endpoints[ep.ID] = ep
	out := ep.WebhookEndpoint
	out.Secret = ep.secret
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := deepscript.WebhookEndpointList{Data: []deepscript.WebhookEndpoint{}}
	for _, ep := range s.endpoints {
		list.Data = append(list.Data, ep.WebhookEndpoint)
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.endpoints[r.PathValue("id")] == nil {
		apiError(w, http.StatusNotFound, "not_found", "No such webhook endpoint.")
		return
	}
	delete(s.endpoints, r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
}

// endpointFor returns the registered endpoint for url; the caller holds mu.
func (s *Server) endpointFor(url string) *endpoint {
	for _, ep := range s.endpoints {
		if ep.URL == url {
			return ep
		}
	}
	return nil
}

// ---- deliveries ----

// deliverFinal sends the job's final event as its plan says.
func (s *Server) deliverFinal(j *fakeJob) {
	s.mu.Lock()
	ev := deepscript.WebhookEvent{ID: j.t.ID, CreatedAt: j.t.UpdatedAt}
	if j.t.Status == deepscript.StatusCompleted {
		ev.Event, ev.Result = deepscript.EventCompleted, j.result
	} else {
		ev.Event, ev.Error = deepscript.EventFailed, j.t.Error
	}
	ep := s.endpointFor(j.webhook)
	plan := j.plan
	s.mu.Unlock()
	if ep == nil || plan.Webhook == WebhookDrop {
		return
	}
	body, _ := json.Marshal(ev)
	msgID := "msg_" + j.t.ID + "_final"
	send := func(kind DeliveryKind) {
		s.deliver(delivery{kind: kind, url: ep.URL, secret: ep.secret, msgID: msgID, upstreamID: ev.ID,
			event: ev.Event, body: body}, true)
	}
	switch plan.Webhook {
	case WebhookDeliver:
		s.background(func() { send(Genuine) })
	case WebhookTwice:
		s.background(func() { send(Genuine); send(Genuine) })
	case WebhookConcurrent:
		s.background(func() { send(Genuine) })
		s.background(func() { send(Genuine) })
	}
	if plan.LateReplay {
		s.background(func() {
			t := time.NewTimer(700 * time.Millisecond)
			defer t.Stop()
			select {
			case <-t.C:
				send(Replay)
			case <-s.stop:
			}
		})
	}
}

// sendForged posts a delivery claiming the opposite of the job's fate that
// the receiver must refuse (401): a wrong secret, or a timestamp out of
// range.
func (s *Server) sendForged(j *fakeJob, kind DeliveryKind) {
	s.mu.Lock()
	ep := s.endpointFor(j.webhook)
	id := j.t.ID
	s.mu.Unlock()
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
	d := delivery{kind: kind, url: ep.URL, secret: ep.secret, msgID: "msg_" + id + "_" + string(kind),
		upstreamID: id, event: ev.Event, body: body}
	switch kind {
	case ForgedSignature:
		d.secret = NewSecret()
	case StaleTimestamp:
		d.at = time.Now().Add(-400 * time.Second)
	case FutureTimestamp:
		d.at = time.Now().Add(400 * time.Second)
	}
	s.deliver(d, false)
}

// delivery is one webhook to post.
type delivery struct {
	kind                                  DeliveryKind
	url, secret, msgID, upstreamID, event string
	body                                  []byte
	at                                    time.Time // webhook-timestamp; now when zero
}

// deliver posts a signed webhook, retrying on failure per DeliveryRetries
// when retry is set, and records every attempt.
func (s *Server) deliver(d delivery, retry bool) {
	s.mu.Lock()
	s.delivering++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.delivering--
		s.mu.Unlock()
	}()
	for attempt := 1; ; attempt++ {
		status, err := s.post(d)
		rec := Delivery{Kind: d.kind, WebhookID: d.msgID, UpstreamID: d.upstreamID, Event: d.event, Attempt: attempt, Status: status}
		if err != nil {
			rec.Err = err.Error()
		}
		s.mu.Lock()
		s.deliveries = append(s.deliveries, rec)
		s.mu.Unlock()
		if !retry || (status >= 200 && status <= 299) || attempt > len(s.DeliveryRetries) {
			return
		}
		t := time.NewTimer(s.DeliveryRetries[attempt-1])
		select {
		case <-t.C:
		case <-s.stop:
			t.Stop()
			return
		}
	}
}

// post sends one attempt, signed with d.secret at d.at (or now).
func (s *Server) post(d delivery) (int, error) {
	at := d.at
	if at.IsZero() {
		at = time.Now()
	}
	h, err := WebhookHeaders(d.secret, d.msgID, at, d.body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		return 0, err
	}
	req.Header = h
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// background runs fn as part of the server, so closing waits for it.
func (s *Server) background(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// WebhookSecret is the signing secret of the endpoint registered for url,
// or "" when none is, so a test can send deliveries of its own.
func (s *Server) WebhookSecret(url string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ep := s.endpointFor(url); ep != nil {
		return ep.secret
	}
	return ""
}
