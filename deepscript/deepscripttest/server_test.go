package deepscripttest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
)

// These tests check that the fake does what its knobs promise, through the
// real client, so the tests that rely on it test what they say.

// waitFor polls check until it reports true, failing with what it last
// saw after within.
func waitFor(t *testing.T, within time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, saw := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last saw %s", what, within, saw)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	fake := deepscripttest.NewServer(t)
	fake.Plan = func(name string) deepscripttest.Plan {
		return map[string]deepscripttest.Plan{
			"broke.wav": {SubmitRefusal: http.StatusPaymentRequired},
			"flaky.wav": {SubmitFailures: []deepscripttest.SubmitFault{deepscripttest.Submit503, deepscripttest.SubmitReset}},
		}[name]
	}
	c := fake.Client()
	create := func(name, key, content string) (*deepscript.Transcription, error) {
		return c.CreateTranscription(ctx, deepscript.CreateRequest{File: strings.NewReader(content), Filename: name,
			Metadata: key, IdempotencyKey: key})
	}

	t.Run("Idempotent", func(t *testing.T) {
		first := fake.Create(t, "a.wav", "key-a")
		again := fake.Create(t, "a.wav", "key-a")
		if got, want := again.ID, first.ID; got != want {
			t.Errorf("replayed create: id %s, want %s", got, want)
		}
		if _, err := create("a.wav", "key-a", "another file"); !deepscript.IsConflict(err) {
			t.Errorf("same key, other file: %v, want 409", err)
		}
		created, attempts := fake.Creates("key-a")
		if created != 1 || attempts != 3 {
			t.Errorf("created %d in %d attempts, want 1 in 3", created, attempts)
		}
		if j, _ := fake.JobByKey("key-a"); j.ID != first.ID || j.Name != "a.wav" {
			t.Errorf("JobByKey: %+v", j)
		}
	})
	t.Run("Refusal", func(t *testing.T) {
		_, err := create("broke.wav", "key-broke", "x")
		var apiErr *deepscript.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusPaymentRequired || apiErr.Code != deepscript.CodeInsufficientBalance {
			t.Fatalf("err %v, want 402 insufficient_balance", err)
		}
		if created, _ := fake.Creates("key-broke"); created != 0 {
			t.Errorf("a refused submit created %d jobs", created)
		}
	})
	t.Run("Failures", func(t *testing.T) {
		_, err := create("flaky.wav", "key-flaky", "x")
		var apiErr *deepscript.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable || apiErr.RetryAfter != time.Second {
			t.Fatalf("first attempt: %v, want 503 with Retry-After 1 s", err)
		}
		if _, err := create("flaky.wav", "key-flaky", "x"); err == nil || errors.As(err, &apiErr) {
			t.Fatalf("second attempt: %v, want a connection reset", err)
		}
		if _, err := create("flaky.wav", "key-flaky", "x"); err != nil {
			t.Fatalf("third attempt: %v", err)
		}
		if created, attempts := fake.Creates("key-flaky"); created != 1 || attempts != 3 {
			t.Errorf("created %d in %d attempts, want 1 in 3", created, attempts)
		}
	})
	t.Run("WrongKey", func(t *testing.T) {
		_, err := deepscript.New(fake.URL, "wrong", nil).Transcription(ctx, "tr_1")
		if !deepscript.IsUnauthorized(err) {
			t.Fatalf("err %v, want 401", err)
		}
	})
}

// TestTimeline follows a job's events to its end and reads its result,
// status and deletion.
func TestTimeline(t *testing.T) {
	ctx := context.Background()
	fake := deepscripttest.NewServer(t)
	fake.Plan = func(string) deepscripttest.Plan {
		return deepscripttest.Plan{Hold: true, Segments: 3, StatusErrors: 1, StatusLimited: 1}
	}
	c := fake.Client()
	tr := fake.Create(t, "talk.wav", "key")
	var statuses []string
	streamed := make(chan error, 1)
	go func() {
		streamed <- c.StreamEvents(ctx, tr.ID, func(ev deepscript.Event) {
			statuses = append(statuses, fmt.Sprintf("%s %.1f", ev.Transcription.Status, ev.Transcription.Progress))
		})
	}()
	waitFor(t, 5*time.Second, "a held job at its last progress step", func() (bool, string) {
		st, err := c.Status(ctx, tr.ID)
		return err == nil && st.Progress == 0.7, fmt.Sprintf("%+v, %v", st, err)
	})
	if j, _ := fake.JobByKey("key"); j.Status != deepscript.StatusProcessing {
		t.Fatalf("held job is %s before its release", j.Status)
	}
	fake.Release("talk.wav")
	select {
	case err := <-streamed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream did not end after the final event")
	}
	if got, want := statuses[len(statuses)-1], "completed 1.0"; got != want {
		t.Errorf("last event %q, want %q (all: %q)", got, want, statuses)
	}
	full, err := c.Transcription(ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := full.Result.Text, deepscripttest.Result("talk", 3).Text; got != want {
		t.Errorf("result %q, want %q", got, want)
	}
	var answers []int
	for _, p := range fake.Polls() {
		answers = append(answers, p.Status)
	}
	if got, want := fmt.Sprint(answers[:3]), "[500 429 200]"; got != want {
		t.Errorf("status polls answered %s, want %s first", got, want)
	}
	if err := c.DeleteTranscription(ctx, tr.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status(ctx, tr.ID); !deepscript.IsNotFound(err) {
		t.Errorf("status after delete: %v, want 404", err)
	}
	if j, _ := fake.JobByKey("key"); !j.Deleted {
		t.Error("JobByKey does not say the job was deleted")
	}
}

// TestWebhooks registers an endpoint and checks each delivery kind is
// signed as it claims: genuine ones verify, forgeries do not.
func TestWebhooks(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var secret string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if deepscript.VerifyWebhook(secret, r.Header, body, time.Now()) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	fake := deepscripttest.NewServer(t)
	fake.Plan = func(string) deepscripttest.Plan {
		return deepscripttest.Plan{Webhook: deepscripttest.WebhookTwice, LateReplay: true,
			Forge: []deepscripttest.DeliveryKind{deepscripttest.ForgedSignature, deepscripttest.StaleTimestamp, deepscripttest.FutureTimestamp}}
	}
	c := fake.Client()
	ep, err := c.CreateWebhook(ctx, receiver.URL, []string{deepscript.EventCompleted})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	secret = ep.Secret
	mu.Unlock()
	if _, err := c.CreateWebhook(ctx, receiver.URL, nil); !deepscript.IsConflict(err) {
		t.Errorf("registering the URL again: %v, want 409", err)
	}
	if _, err := c.CreateTranscription(ctx, deepscript.CreateRequest{File: strings.NewReader("x"), Filename: "a.wav",
		WebhookURL: receiver.URL + "/other"}); err == nil {
		t.Error("a webhook_url that is not registered was accepted")
	}
	if _, err := c.CreateTranscription(ctx, deepscript.CreateRequest{File: strings.NewReader("x"), Filename: "a.wav",
		WebhookURL: receiver.URL}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "six deliveries", func() (bool, string) {
		d := fake.Deliveries()
		return len(d) == 6 && fake.DeliveriesInFlight() == 0, fmt.Sprintf("%+v", d)
	})
	kinds := map[deepscripttest.DeliveryKind]int{}
	for _, d := range fake.Deliveries() {
		kinds[d.Kind]++
		want := http.StatusNoContent
		if d.Kind.Forged() {
			want = http.StatusUnauthorized
		}
		if d.Status != want {
			t.Errorf("%s delivery %s answered %d, want %d", d.Kind, d.WebhookID, d.Status, want)
		}
	}
	if got, want := fmt.Sprint(kinds), "map[forged:1 future:1 genuine:2 replay:1 stale:1]"; got != want {
		t.Errorf("deliveries by kind %s, want %s", got, want)
	}
}
