package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"scribe/deepscript"
	"scribe/deepscript/deepscripttest"
	"scribe/media/mediatest"
)

// uploadTones uploads n short tones named prefix-NN.wav as user c and
// returns the job ids.
func uploadTones(t *testing.T, app *testApp, c *http.Client, prefix string, n int) []string {
	t.Helper()
	dir := t.TempDir()
	var ids []string
	for i := range n {
		ids = append(ids, uploadFile(t, c, app, mediatest.Tone(t, dir, fmt.Sprintf("%s-%02d.wav", prefix, i), 300+float64(i)*10)))
	}
	return ids
}

// TestCappedUpstreamStreams runs more jobs than SCRIBE_MAX_UPSTREAM_STREAMS
// through the app: the upstream never sees more streams than the cap at
// once, and every job still ends as upstream, the ones that never had a
// stream through their webhook or, webhook lost, the backstop.
func TestCappedUpstreamStreams(t *testing.T) {
	t.Parallel()
	fake := deepscripttest.NewServer(t)
	fake.Plan = func(name string) deepscripttest.Plan {
		p := deepscripttest.Plan{Hold: true} // until every job is uploaded
		var i int
		fmt.Sscanf(name, "cap-%02d.wav", &i)
		if i%3 == 0 { // news only from the backstop
			p.Webhook, p.SSE = deepscripttest.WebhookDrop, deepscripttest.SSENoFinal
		}
		return p
	}
	app := startApp(t, mergeEnv(fakeEnv(fake), fastBackstop, map[string]string{"SCRIBE_MAX_UPSTREAM_STREAMS": "3"}))
	c := newUser(t, app, "ada@example.com")
	ids := uploadTones(t, app, c, "cap", 12)
	eventually(t, 10*time.Second, "the cap's streams open", func() (bool, string) {
		open, _ := fake.Streams()
		return open == 3, fmt.Sprintf("%d open", open)
	})
	var names []string
	for i := range ids {
		names = append(names, fmt.Sprintf("cap-%02d.wav", i))
	}
	fake.Release(names...)
	final := waitAllFinal(t, app, fake, ids, func(int) *http.Client { return c }, time.Minute)

	if _, most := fake.Streams(); most > 3 {
		t.Errorf("the upstream saw %d streams open at once; the cap is 3", most)
	}
	via := map[string]int{}
	unstreamed := 0
	for i, id := range ids {
		up, _ := fake.JobByKey(id)
		j := final[id]
		if got, want := j.Status, string(up.Status); got != want {
			t.Errorf("job %d: %s, upstream says %s", i, got, want)
		}
		via[deref(j.CompletedVia)]++
		if up.SSEConns == 0 {
			unstreamed++
		}
	}
	if unstreamed == 0 {
		t.Errorf("every job had a stream; want some beyond the cap of 3, to see them converge without one")
	}
	if via["poll"] == 0 || via["webhook"] == 0 {
		t.Errorf("completed via %v; want some via webhook and, for lost webhooks, some via poll", via)
	}
	t.Logf("12 jobs, cap 3: %d never had a stream; completed via %v", unstreamed, via)
}

// TestUpstreamRequestsPerJob counts what the app asks of the upstream for
// jobs that go as planned: a create, an event stream, and no result GET,
// since the webhook brings the result.
func TestUpstreamRequestsPerJob(t *testing.T) {
	t.Parallel()
	fake := deepscripttest.NewServer(t)
	fake.Plan = func(string) deepscripttest.Plan { return deepscripttest.Plan{Duration: time.Second} }
	app := startApp(t, fakeEnv(fake))
	c := newUser(t, app, "ada@example.com")
	ids := uploadTones(t, app, c, "happy", 8)
	waitAllFinal(t, app, fake, ids, func(int) *http.Client { return c }, time.Minute)
	time.Sleep(3 * time.Second) // past the grace a stream's completion gives the webhook

	var creates, streams, fetches, polls int
	for _, id := range ids {
		up, _ := fake.JobByKey(id)
		_, attempts := fake.Creates(id)
		creates += attempts
		streams += up.SSEConns
		fetches += up.Fetches
		polls += up.Polls
		if up.Status != deepscript.StatusCompleted {
			t.Fatalf("job %s upstream %s, want completed", id, up.Status)
		}
	}
	perJob := float64(creates+streams+fetches+polls) / float64(len(ids))
	t.Logf("%d jobs: %d creates, %d stream connections, %d result GETs, %d polls: %.2f requests per job",
		len(ids), creates, streams, fetches, polls, perJob)
	if perJob > 2.3 {
		t.Errorf("%.2f upstream requests per job, want at most 2.3", perJob)
	}
	if fetches != 0 {
		t.Errorf("%d result GETs; want none, the webhooks brought every result", fetches)
	}
}
