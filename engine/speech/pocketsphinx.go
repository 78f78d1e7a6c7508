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
	"sync/atomic"
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
	// Workers is how many decoders to keep, i.e. how many utterances are
	// decoded at once across all Recognize calls (default 1). Each costs
	// ~90 MB and ~1 s to create.
	Workers int
	// Config overrides entries of DefaultPocketsphinxConfig ("-maxhmmpf":
	// "5000"); an empty value removes a default.
	Config map[string]string
	// Split tunes how the audio is cut into utterances.
	Split SplitOptions
}

// Pocketsphinx is an offline Recognizer backed by a pool of pocketsphinx
// decoders, created once and reused. Every Recognize call cuts its audio
// at silences and hands the utterances to the shared pool, so one long
// file keeps every decoder busy and several files share them: at most
// Workers utterances are decoded at once, whatever the number of calls.
type Pocketsphinx struct {
	tasks   chan decodeTask // unbuffered: a send is a decoder taking the task
	workers int
	split   SplitOptions
	busy    atomic.Int32

	mu       sync.Mutex // guards isClosed and calls.Add against Close
	isClosed bool
	calls    sync.WaitGroup // running Recognize calls
	closed   chan struct{}  // closed when Close starts
	stop     chan struct{}  // closed once no call is left: decoders exit
	decoders sync.WaitGroup
	closeOne sync.Once
}

var _ Recognizer = (*Pocketsphinx)(nil)

// decodeTask is one utterance for the pool; the decoder sends the outcome
// to result, which has room for it, so a decoder never waits on a caller.
type decodeTask struct {
	ctx    context.Context
	utt    Utterance
	result chan decodeResult
}

// decodeResult is one utterance back from a decoder.
type decodeResult struct {
	utt   Utterance
	words []rawWord
	err   error
}

// NewPocketsphinx creates opts.Workers decoders, each owned by a goroutine
// of its own until Close.
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

	decs := make([]*psDecoder, 0, workers)
	for range workers {
		d, err := newPSDecoder(args)
		if err != nil {
			for _, d := range decs {
				d.free()
			}
			return nil, err
		}
		decs = append(decs, d)
	}
	p := &Pocketsphinx{
		tasks:   make(chan decodeTask),
		workers: workers,
		split:   opts.Split,
		closed:  make(chan struct{}),
		stop:    make(chan struct{}),
	}
	for _, d := range decs {
		p.decoders.Go(func() { p.serve(d) })
	}
	return p, nil
}

// Workers is the number of decoders in the pool.
func (p *Pocketsphinx) Workers() int { return p.workers }

// Busy is the number of decoders decoding an utterance right now.
func (p *Pocketsphinx) Busy() int { return int(p.busy.Load()) }

// serve is one decoder's goroutine: it decodes tasks until Close.
func (p *Pocketsphinx) serve(dec *psDecoder) {
	// pocketsphinx decoders are not thread-safe; this one lives on a
	// single OS thread and no other goroutine touches it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer dec.free()
	for {
		select {
		case <-p.stop:
			return
		case t := <-p.tasks:
			if err := t.ctx.Err(); err != nil {
				t.result <- decodeResult{utt: t.utt, err: err}
				continue
			}
			p.busy.Add(1)
			words, err := dec.decode(t.utt.Samples)
			p.busy.Add(-1)
			t.result <- decodeResult{utt: t.utt, words: words, err: err}
		}
	}
}

// enter registers a Recognize call, or reports that Close has begun.
func (p *Pocketsphinx) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isClosed {
		return false
	}
	p.calls.Add(1)
	return true
}

// Recognize implements Recognizer. It cuts pcm into utterances on the
// calling goroutine and has the pool decode them, several at once, while
// it reads on; results are put back in order, each utterance's words
// offset by its start, so the transcript reads as if decoded in one pass.
// progress follows the utterances in order. ctx is checked between
// utterances; when Recognize returns, none of its utterances is still
// being decoded. Silent or empty audio gives an empty Transcript.
func (p *Pocketsphinx) Recognize(ctx context.Context, pcm io.Reader, progress func(seconds float64)) (Transcript, error) {
	if !p.enter() {
		return Transcript{}, ErrClosed
	}
	defer p.calls.Done()

	split := NewSplitter(pcm, p.split)
	// Utterances handed out and not yet collected, oldest first. Twice the
	// decoders keeps them all busy though utterances differ in length,
	// and bounds what one call holds (each utterance ≤ MaxUtterance).
	window := 2 * p.workers
	var pending []chan decodeResult
	// Whatever happens, wait for the decoders to finish this call's
	// utterances: none of its work outlives it.
	defer func() {
		for _, r := range pending {
			<-r
		}
	}()

	var segs []Segment
	collect := func() error {
		r := <-pending[0]
		pending = pending[1:]
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("speech: recognition cancelled: %w", err)
		}
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
		for len(pending) >= window {
			if err := collect(); err != nil {
				return Transcript{}, err
			}
		}
		result := make(chan decodeResult, 1)
		select {
		case p.tasks <- decodeTask{ctx: ctx, utt: u, result: result}:
			pending = append(pending, result)
		case <-ctx.Done():
			return Transcript{}, fmt.Errorf("speech: recognition cancelled: %w", ctx.Err())
		case <-p.closed:
			return Transcript{}, ErrClosed
		}
		// Take what is already done, so progress keeps up with decoding.
		for len(pending) > 0 && len(pending[0]) > 0 {
			if err := collect(); err != nil {
				return Transcript{}, err
			}
		}
	}
	for len(pending) > 0 {
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

// Close stops the pool: running Recognize calls end with ErrClosed once
// their utterances in progress are decoded, later calls return it at
// once, and the decoders are freed before Close returns.
func (p *Pocketsphinx) Close() error {
	p.closeOne.Do(func() {
		p.mu.Lock()
		p.isClosed = true
		close(p.closed)
		p.mu.Unlock()
		p.calls.Wait()
		close(p.stop)
		p.decoders.Wait()
	})
	return nil
}
