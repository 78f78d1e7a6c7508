package speech

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// HTTPOptions configures NewHTTP.
type HTTPOptions struct {
	// URL is the endpoint's base URL; requests go to
	// {URL}/v1/audio/transcriptions.
	URL string
	// APIKey is sent as a Bearer token when set.
	APIKey string
	// Model is the model field of the request (default "whisper-1").
	Model string
	// MaxChunkBytes caps each uploaded WAV file (default 25 MiB, the
	// usual limit of such endpoints); longer audio is sent in chunks cut
	// at silences.
	MaxChunkBytes int64
	// Client sends the requests (default: 10 min timeout per request).
	Client *http.Client
	// Attempts is how many times a chunk is tried when the endpoint
	// answers 429 or 5xx or the connection fails (default 3).
	Attempts int
	// Backoff is the wait before the first retry, doubled each time
	// (default 1 s).
	Backoff time.Duration
	// Split tunes how the audio is cut at silences.
	Split SplitOptions
}

// HTTP is a Recognizer that sends audio to an OpenAI-compatible
// transcription endpoint.
type HTTP struct {
	endpoint string
	opts     HTTPOptions
}

var _ Recognizer = (*HTTP)(nil)

// DefaultMaxChunkBytes is the default HTTPOptions.MaxChunkBytes.
const DefaultMaxChunkBytes = 25 << 20

// chunkGapSamples of silence separate utterances inside a chunk.
const chunkGapSamples = SampleRate / 2

// NewHTTP returns an HTTP recognizer.
func NewHTTP(opts HTTPOptions) (*HTTP, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("speech: transcription URL %q is not an http(s) URL", opts.URL)
	}
	if opts.Model == "" {
		opts.Model = "whisper-1"
	}
	if opts.MaxChunkBytes <= 0 {
		opts.MaxChunkBytes = DefaultMaxChunkBytes
	}
	// A chunk must hold at least a second of audio plus the header.
	opts.MaxChunkBytes = max(opts.MaxChunkBytes, wavHeaderBytes+2*SampleRate)
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Minute}
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	return &HTTP{endpoint: strings.TrimRight(opts.URL, "/") + "/v1/audio/transcriptions", opts: opts}, nil
}

// Close implements Recognizer; an HTTP recognizer holds nothing to free.
func (h *HTTP) Close() error { return nil }

// piece is one utterance's place in a chunk.
type piece struct {
	chunkStart int64 // sample offset inside the chunk
	absStart   int64 // sample offset in the whole input
	n          int64
}

// chunk is audio to upload: utterances separated by short silences, and
// where each came from.
type chunk struct {
	samples []int16
	pieces  []piece
}

// toAbs maps seconds in the chunk to seconds in the input.
func (c *chunk) toAbs(t float64) float64 {
	s := int64(math.Round(t * SampleRate))
	p := c.pieces[0]
	for _, q := range c.pieces[1:] {
		// A time in the gap belongs to the nearer piece.
		if s >= q.chunkStart-chunkGapSamples/2 {
			p = q
		}
	}
	s = min(max(s, p.chunkStart), p.chunkStart+p.n)
	return float64(p.absStart+s-p.chunkStart) / SampleRate
}

// Recognize implements Recognizer: it uploads the audio chunk by chunk,
// in order, and stitches the results onto the input's timeline.
func (h *HTTP) Recognize(ctx context.Context, pcm io.Reader, progress func(seconds float64)) (Transcript, error) {
	split := NewSplitter(pcm, h.opts.Split)
	maxSamples := (h.opts.MaxChunkBytes - wavHeaderBytes) / 2
	var (
		cur  chunk
		segs []Segment
	)
	flush := func() error {
		if len(cur.pieces) == 0 {
			return nil
		}
		got, err := h.transcribeChunk(ctx, &cur)
		if err != nil {
			return err
		}
		for _, s := range got {
			if n := len(segs); n > 0 {
				s.Start = max(s.Start, segs[n-1].End)
				s.End = max(s.End, s.Start)
			}
			segs = append(segs, s)
		}
		if progress != nil {
			last := cur.pieces[len(cur.pieces)-1]
			progress(float64(last.absStart+last.n) / SampleRate)
		}
		cur = chunk{}
		return nil
	}
	for {
		u, err := split.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Transcript{}, err
		}
		// An utterance longer than a chunk (only with a tiny
		// MaxChunkBytes) is cut bluntly.
		for len(u.Samples) > 0 {
			n := min(int64(len(u.Samples)), maxSamples)
			gap := int64(0)
			if len(cur.samples) > 0 {
				gap = chunkGapSamples
			}
			if int64(len(cur.samples))+gap+n > maxSamples {
				if err := flush(); err != nil {
					return Transcript{}, err
				}
				gap = 0
			}
			cur.samples = append(cur.samples, make([]int16, gap)...)
			cur.pieces = append(cur.pieces, piece{chunkStart: int64(len(cur.samples)), absStart: u.Offset, n: n})
			cur.samples = append(cur.samples, u.Samples[:n]...)
			u.Offset += n
			u.Samples = u.Samples[n:]
		}
	}
	if err := flush(); err != nil {
		return Transcript{}, err
	}
	duration := float64(split.SamplesRead()) / SampleRate
	if progress != nil {
		progress(duration)
	}
	return Transcript{Text: transcriptText(segs), Duration: duration, SpeechSeconds: split.SpeechSeconds(), Segments: segs}, nil
}

// verboseJSON is the part of a verbose_json response we use.
type verboseJSON struct {
	Text     string `json:"text"`
	Segments []struct {
		Start      float64  `json:"start"`
		End        float64  `json:"end"`
		Text       string   `json:"text"`
		AvgLogprob *float64 `json:"avg_logprob"`
	} `json:"segments"`
	Words []struct {
		Word  string  `json:"word"`
		Start float64 `json:"start"`
		End   float64 `json:"end"`
	} `json:"words"`
}

// transcribeChunk uploads one chunk, retrying transient failures, and
// returns its segments on the input's timeline.
func (h *HTTP) transcribeChunk(ctx context.Context, c *chunk) ([]Segment, error) {
	body, contentType, err := h.requestBody(c.samples)
	if err != nil {
		return nil, err
	}
	wait := h.opts.Backoff
	for attempt := 1; ; attempt++ {
		resp, err := h.post(ctx, body, contentType)
		var retry *retryableError
		if err == nil || !errors.As(err, &retry) || attempt >= h.opts.Attempts {
			if err != nil {
				return nil, err
			}
			return resp.segments(c), nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("speech: transcription cancelled: %w", ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// requestBody builds the multipart form for one chunk.
func (h *HTTP) requestBody(samples []int16) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", "audio.wav")
	if err != nil {
		return nil, "", fmt.Errorf("speech: building request: %w", err)
	}
	if err := writeWAV(fw, samples); err != nil {
		return nil, "", fmt.Errorf("speech: building request: %w", err)
	}
	for _, f := range [][2]string{
		{"model", h.opts.Model},
		{"response_format", "verbose_json"},
		{"timestamp_granularities[]", "word"},
		{"timestamp_granularities[]", "segment"},
	} {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, "", fmt.Errorf("speech: building request: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", fmt.Errorf("speech: building request: %w", err)
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// retryableError marks failures worth another attempt.
type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// post sends one request and decodes a successful answer.
func (h *HTTP) post(ctx context.Context, body []byte, contentType string) (*verboseJSON, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("speech: building request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	if h.opts.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+h.opts.APIKey)
	}
	resp, err := h.opts.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("speech: transcription cancelled: %w", ctx.Err())
		}
		return nil, &retryableError{fmt.Errorf("speech: transcription endpoint unreachable: %w", err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg := errorMessage(resp.Body)
		err := fmt.Errorf("speech: transcription endpoint answered %s: %s", resp.Status, msg)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return nil, &retryableError{err}
		}
		return nil, err
	}
	var out verboseJSON
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("speech: transcription endpoint sent a response that is not verbose_json: %w", err)
	}
	return &out, nil
}

// errorMessage extracts {"error":{"message":...}} from an error body, or
// the start of the body as text.
func errorMessage(r io.Reader) string {
	data, _ := io.ReadAll(io.LimitReader(r, 4<<10))
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	if msg := strings.Join(strings.Fields(string(data)), " "); msg != "" {
		return msg
	}
	return "no details"
}

// segments maps a chunk's response onto the input's timeline. Words go to
// the response segment they start in; with no segments, the chunk's words
// form one segment.
func (v *verboseJSON) segments(c *chunk) []Segment {
	type span struct {
		start, end, conf float64
		text             string
	}
	var spans []span
	for _, s := range v.Segments {
		conf := 1.0
		if s.AvgLogprob != nil {
			conf = min(max(math.Exp(*s.AvgLogprob), 0), 1)
		}
		spans = append(spans, span{s.Start, s.End, conf, strings.TrimSpace(s.Text)})
	}
	if len(spans) == 0 && (len(v.Words) > 0 || strings.TrimSpace(v.Text) != "") {
		spans = append(spans, span{0, math.Inf(1), 1, strings.TrimSpace(v.Text)})
	}
	out := make([]Segment, len(spans))
	for i, s := range spans {
		out[i] = Segment{Start: c.toAbs(s.start), End: c.toAbs(min(s.end, float64(len(c.samples))/SampleRate)), Text: s.text}
	}
	for _, w := range v.Words {
		i := 0
		for j, s := range spans {
			if w.Start >= s.start {
				i = j
			}
		}
		word := strings.TrimSpace(w.Word)
		if word == "" {
			continue
		}
		out[i].Words = append(out[i].Words, Word{Word: word, Start: c.toAbs(w.Start), End: c.toAbs(w.End), Confidence: spans[i].conf})
	}
	var kept []Segment
	for _, s := range out {
		if len(s.Words) > 0 {
			s.Start = min(s.Start, s.Words[0].Start)
			s.End = max(s.End, s.Words[len(s.Words)-1].End)
			if s.Text == "" {
				s.Text = joinWords(s.Words)
			}
		}
		if s.Text != "" {
			kept = append(kept, s)
		}
	}
	return kept
}
