package speech

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTranscriber is an OpenAI-compatible endpoint that checks each
// request and "recognises" every burst of sound in the WAV as one word
// named after the burst's loudness, so a test knows where words are.
type fakeTranscriber struct {
	t        *testing.T
	maxBytes int64
	status   int // answer this status instead when non-zero
	requests atomic.Int32
}

func (f *fakeTranscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if f.status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `{"error":{"message":"fake failure %d","type":"invalid_request_error"}}`, f.status)
		return
	}
	t := f.t
	if r.Method != http.MethodPost || r.URL.Path != "/v1/audio/transcriptions" {
		t.Errorf("request %s %s", r.Method, r.URL.Path)
	}
	if got, want := r.Header.Get("Authorization"), "Bearer sk-test"; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	if err := r.ParseMultipartForm(64 << 20); err != nil {
		t.Errorf("ParseMultipartForm: %v", err)
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if got, want := r.FormValue("model"), "whisper-test"; got != want {
		t.Errorf("model = %q, want %q", got, want)
	}
	if got, want := r.FormValue("response_format"), "verbose_json"; got != want {
		t.Errorf("response_format = %q, want %q", got, want)
	}
	if got, want := strings.Join(r.MultipartForm.Value["timestamp_granularities[]"], ","), "word,segment"; got != want {
		t.Errorf("timestamp_granularities[] = %q, want %q", got, want)
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		t.Errorf("file: %v", err)
		return
	}
	data, _ := io.ReadAll(file)
	if hdr.Size > f.maxBytes || int64(len(data)) > f.maxBytes {
		t.Errorf("file is %d bytes, over MaxChunkBytes %d", len(data), f.maxBytes)
	}
	if string(data[0:4]) != "RIFF" || string(data[8:16]) != "WAVEfmt " ||
		binary.LittleEndian.Uint32(data[24:]) != SampleRate || binary.LittleEndian.Uint16(data[22:]) != 1 ||
		int(binary.LittleEndian.Uint32(data[40:])) != len(data)-44 {
		t.Errorf("file is not a 16 kHz mono WAV: header % x", data[:44])
	}
	samples := make([]int16, (len(data)-44)/2)
	for i := range samples {
		samples[i] = int16(binary.LittleEndian.Uint16(data[44+2*i:]))
	}

	var words []map[string]any
	var segs []map[string]any
	for _, b := range bursts(samples) {
		name := fmt.Sprintf("amp%d", (b.amp+500)/1000)
		words = append(words, map[string]any{"word": " " + name, "start": b.start, "end": b.end})
		segs = append(segs, map[string]any{"id": len(segs), "start": b.start, "end": b.end, "text": " " + name + ".", "avg_logprob": -0.25})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"task": "transcribe", "language": "english", "duration": float64(len(samples)) / SampleRate,
		"text": "ignored", "segments": segs, "words": words,
	})
}

type burst struct {
	start, end float64
	amp        int
}

// bursts finds runs of 10 ms frames with any sound, merging runs less
// than 0.3 s apart.
func bursts(samples []int16) []burst {
	var out []burst
	for f := 0; f*frameSamples < len(samples); f++ {
		peak := 0
		for _, s := range samples[f*frameSamples : min((f+1)*frameSamples, len(samples))] {
			peak = max(peak, int(math.Abs(float64(s))))
		}
		if peak < 100 {
			continue
		}
		t := float64(f) / 100
		if n := len(out); n > 0 && t-out[n-1].end < 0.3 {
			out[n-1].end = t + 0.01
			out[n-1].amp = max(out[n-1].amp, peak)
			continue
		}
		out = append(out, burst{start: t, end: t + 0.01, amp: peak})
	}
	return out
}

func TestHTTPRecognizer(t *testing.T) {
	// Ten 1 s bursts 2.0 s apart (1 s gaps), each a different loudness,
	// and chunks of at most ~3.4 s: the audio needs several requests.
	b := newPCM(0).gap(0.5)
	var want []burst
	for i := range 10 {
		amp := float64(3000 + 2000*i)
		want = append(want, burst{start: 0.5 + 2*float64(i), end: 1.5 + 2*float64(i), amp: int(amp)})
		b.syllables(1, 440, amp).gap(1)
	}
	fake := &fakeTranscriber{t: t, maxBytes: 44 + 2*SampleRate*34/10}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	h, err := NewHTTP(HTTPOptions{URL: srv.URL + "/", APIKey: "sk-test", Model: "whisper-test", MaxChunkBytes: fake.maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	var progress []float64
	tr, err := h.Recognize(context.Background(), bytes.NewReader(b.bytes()), func(s float64) { progress = append(progress, s) })
	if err != nil {
		t.Fatalf("Recognize: %v", err)
	}
	if got := fake.requests.Load(); got < 4 {
		t.Errorf("%d requests, want the audio in ≥ 4 chunks", got)
	}
	if got, want := tr.Duration, float64(len(b.samples))/SampleRate; got != want {
		t.Errorf("Duration = %v, want %v", got, want)
	}
	if len(progress) < 4 || progress[len(progress)-1] != tr.Duration {
		t.Errorf("progress %v, want one per chunk ending at %v", progress, tr.Duration)
	}
	checkWordTimes(t, tr)
	var words []Word
	for _, s := range tr.Segments {
		words = append(words, s.Words...)
	}
	if len(words) != len(want) {
		t.Fatalf("got %d words, want %d: %+v", len(words), len(want), tr.Segments)
	}
	for i, w := range words {
		if wantName := fmt.Sprintf("amp%d", want[i].amp/1000); w.Word != wantName ||
			math.Abs(w.Start-want[i].start) > 0.02 || math.Abs(w.End-want[i].end) > 0.02 {
			t.Errorf("word %d = %q [%.2f, %.2f], want %q [%.2f, %.2f]", i, w.Word, w.Start, w.End, wantName, want[i].start, want[i].end)
		}
		if math.Abs(w.Confidence-math.Exp(-0.25)) > 1e-9 {
			t.Errorf("word %d confidence %v, want exp(avg_logprob)", i, w.Confidence)
		}
	}
	if got := tr.Segments[0].Text; got != "amp3." {
		t.Errorf("segment text %q, want the endpoint's %q", got, "amp3.")
	}
}

func TestHTTPRecognizerErrors(t *testing.T) {
	pcm := newPCM(0).gap(0.3).syllables(1, 440, 8000).gap(0.3).bytes()
	for _, tc := range []struct {
		status       int
		wantRequests int32
		wantText     string
	}{
		{http.StatusUnauthorized, 1, "401 Unauthorized: fake failure 401"},
		{http.StatusInternalServerError, 3, "500 Internal Server Error: fake failure 500"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			fake := &fakeTranscriber{t: t, status: tc.status}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			h, err := NewHTTP(HTTPOptions{URL: srv.URL, APIKey: "sk-test", Backoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.Recognize(context.Background(), bytes.NewReader(pcm), nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantText) || !strings.HasPrefix(err.Error(), "speech: ") {
				t.Errorf("err = %v, want one saying %q", err, tc.wantText)
			}
			if got := fake.requests.Load(); got != tc.wantRequests {
				t.Errorf("%d requests, want %d (retry only 5xx)", got, tc.wantRequests)
			}
		})
	}

	t.Run("Unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		h, _ := NewHTTP(HTTPOptions{URL: srv.URL, Attempts: 1})
		if _, err := h.Recognize(context.Background(), bytes.NewReader(pcm), nil); err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Errorf("err = %v, want unreachable", err)
		}
	})

	t.Run("BadURL", func(t *testing.T) {
		if _, err := NewHTTP(HTTPOptions{URL: "localhost:8080"}); err == nil {
			t.Error("NewHTTP accepted a URL without scheme")
		}
	})

	t.Run("SilenceSendsNothing", func(t *testing.T) {
		fake := &fakeTranscriber{t: t, status: http.StatusTeapot}
		srv := httptest.NewServer(fake)
		defer srv.Close()
		h, _ := NewHTTP(HTTPOptions{URL: srv.URL})
		tr, err := h.Recognize(context.Background(), bytes.NewReader(make([]byte, 2*SampleRate)), nil)
		if err != nil || tr.Text != "" || tr.Duration != 1 || fake.requests.Load() != 0 {
			t.Errorf("got %+v, %v after %d requests; want an empty 1 s transcript, no request", tr, err, fake.requests.Load())
		}
	})
}
