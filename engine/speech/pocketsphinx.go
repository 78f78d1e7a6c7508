package speech

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"sync"
)

// ErrClosed is returned by Recognize after Close.
var ErrClosed = errors.New("speech: recognizer is closed")

// DefaultPocketsphinxConfig is the decoder configuration NewPocketsphinx
// starts from; PocketsphinxOptions.Config overrides it. Model paths
// (-hmm, -lm, -dict) are filled in by pocketsphinx from its installed
// en-us model unless given.
//
//   - -remove_silence no: with pocketsphinx's own silence removal the word
//     times drift (by tens of seconds on long input); we split at silences
//     ourselves and add each utterance's offset.
//   - -maxhmmpf 1500, -maxwpf 5, -fwdflat no: about 2.5× faster than the
//     defaults for about one point of WER. Measured with make bench-engine
//     on its flite corpus (209 words): defaults RTF 0.32; -maxhmmpf 3000
//     -fwdflat no RTF 0.23-0.24, WER 0.081; these settings RTF 0.13-0.17,
//     WER 0.086. TestPocketsphinxCorpus's passages give 0.071 with both.
//     -maxhmmpf 1000 was faster still (0.126) but WER rose to 0.110.
//     With the quiet after each utterance (sphinx_cgo.go) these settings
//     measure WER 0.081 and 0.066.
func DefaultPocketsphinxConfig() map[string]string {
	return map[string]string{
		"-remove_silence": "no",
		"-maxhmmpf":       "1500",
		"-maxwpf":         "5",
		"-fwdflat":        "no",
	}
}

// PocketsphinxOptions configures NewPocketsphinx.
type PocketsphinxOptions struct {
	// Workers is how many decoders to keep, i.e. how many Recognize calls
	// run at once (default 1). Each costs ~90 MB and ~1 s to create.
	Workers int
	// Config overrides entries of DefaultPocketsphinxConfig ("-maxhmmpf":
	// "5000"); an empty value removes a default.
	Config map[string]string
	// Split tunes how the audio is cut into utterances.
	Split SplitOptions
}

// Pocketsphinx is an offline Recognizer backed by a pool of pocketsphinx
// decoders, created once and reused.
type Pocketsphinx struct {
	pool    chan *psDecoder
	workers int
	split   SplitOptions

	closed    chan struct{}
	closeOnce sync.Once
}

var _ Recognizer = (*Pocketsphinx)(nil)

// NewPocketsphinx creates opts.Workers decoders.
func NewPocketsphinx(opts PocketsphinxOptions) (*Pocketsphinx, error) {
	workers := max(opts.Workers, 1)
	config := DefaultPocketsphinxConfig()
	for k, v := range opts.Config {
		if v == "" {
			delete(config, k)
		} else {
			config[k] = v
		}
	}
	var args []string
	for _, k := range slices.Sorted(maps.Keys(config)) {
		args = append(args, k, config[k])
	}
	if len(args) == 0 {
		args = []string{"-remove_silence", "no"}
	}

	p := &Pocketsphinx{
		pool:    make(chan *psDecoder, workers),
		workers: workers,
		split:   opts.Split,
		closed:  make(chan struct{}),
	}
	for i := range workers {
		d, err := newPSDecoder(args)
		if err != nil {
			for range i {
				(<-p.pool).free()
			}
			return nil, err
		}
		p.pool <- d
	}
	return p, nil
}

// Workers is the number of decoders in the pool.
func (p *Pocketsphinx) Workers() int { return p.workers }

// Recognize implements Recognizer. It waits for a free decoder, then
// reads pcm utterance by utterance; ctx is checked between utterances.
// Silent or empty audio gives an empty Transcript.
func (p *Pocketsphinx) Recognize(ctx context.Context, pcm io.Reader, progress func(seconds float64)) (Transcript, error) {
	var dec *psDecoder
	select {
	case <-ctx.Done():
		return Transcript{}, fmt.Errorf("speech: waiting for a decoder: %w", ctx.Err())
	case <-p.closed:
		return Transcript{}, ErrClosed
	case dec = <-p.pool:
	}
	defer func() { p.pool <- dec }()
	select {
	case <-p.closed:
		return Transcript{}, ErrClosed
	default:
	}
	return recognizeWith(ctx, dec, NewSplitter(pcm, p.split), progress)
}

// decodeResult is one utterance back from the decoding goroutine.
type decodeResult struct {
	utt   Utterance
	words []rawWord
	err   error
}

// recognizeWith splits on the calling goroutine while dec decodes the
// previous utterance on a goroutine locked to its OS thread.
func recognizeWith(ctx context.Context, dec *psDecoder, split *Splitter, progress func(float64)) (Transcript, error) {
	jobs := make(chan Utterance)
	results := make(chan decodeResult, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// pocketsphinx decoders are not thread-safe; keep this one on a
		// single OS thread for the whole recognition.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for u := range jobs {
			words, err := dec.decode(u.Samples)
			results <- decodeResult{utt: u, words: words, err: err}
		}
	}()
	// The decoder goes back to the pool only after its goroutine is done.
	defer func() { close(jobs); <-done }()

	var (
		segs     []Segment
		inflight bool
	)
	collect := func() error {
		r := <-results
		inflight = false
		if r.err != nil {
			return r.err
		}
		if seg, ok := segmentFromWords(r.words, r.utt.Offset, r.utt.End()); ok {
			segs = append(segs, seg)
		}
		if progress != nil {
			progress(r.utt.End())
		}
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return Transcript{}, fmt.Errorf("speech: recognition cancelled: %w", err)
		}
		u, err := split.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Transcript{}, err
		}
		if inflight {
			if err := collect(); err != nil {
				return Transcript{}, err
			}
			if err := ctx.Err(); err != nil {
				return Transcript{}, fmt.Errorf("speech: recognition cancelled: %w", err)
			}
		}
		jobs <- u
		inflight = true
	}
	if inflight {
		if err := collect(); err != nil {
			return Transcript{}, err
		}
	}
	duration := float64(split.SamplesRead()) / SampleRate
	if progress != nil {
		progress(duration)
	}
	return Transcript{Text: transcriptText(segs), Duration: duration, SpeechSeconds: split.SpeechSeconds(), Segments: segs}, nil
}

// Close frees the decoders. It waits for running Recognize calls to
// finish; later calls return ErrClosed.
func (p *Pocketsphinx) Close() error {
	p.closeOnce.Do(func() {
		close(p.closed)
		for range p.workers {
			(<-p.pool).free()
		}
	})
	return nil
}
