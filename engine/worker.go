package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"scribe/deepscript"
	"scribe/engine/speech"
)

// Progress events are throttled: one at most every progressStep of the
// job and every progressInterval, so a long job stores ~100 events, not
// thousands.
const (
	progressStep     = 0.01
	progressInterval = 250 * time.Millisecond
	// progressCeiling keeps progress below 1 until the job completes.
	progressCeiling = 0.99
	// idlePoll is how often an idle worker looks for work without a wake-up
	// (a safety net; submits wake workers at once).
	idlePoll = 2 * time.Second
)

// workerPool runs queued jobs through the recognizer, each worker one job
// at a time.
type workerPool struct {
	store      *store
	hub        *hub
	recognizer speech.Recognizer
	log        *slog.Logger
	workers    int
	outbox     *deliverer
	audioDir   string // where the jobs' audio_path are relative to

	wake chan struct{}

	mu      sync.Mutex
	running map[string]context.CancelFunc // by transcription id
}

func newWorkerPool(st *store, h *hub, rec speech.Recognizer, out *deliverer, audioDir string, workers int, log *slog.Logger) *workerPool {
	return &workerPool{
		store: st, hub: h, recognizer: rec, outbox: out, audioDir: audioDir, workers: workers, log: log,
		wake:    make(chan struct{}, 1),
		running: map[string]context.CancelFunc{},
	}
}

// Wake tells an idle worker that a job was queued. It never blocks.
func (p *workerPool) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Cancel stops the job if a worker is running it (it was deleted).
func (p *workerPool) Cancel(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cancel := p.running[id]; cancel != nil {
		cancel()
	}
}

// Run starts the workers and returns when ctx is cancelled and every
// worker has handed its job back.
func (p *workerPool) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range p.workers {
		wg.Go(func() { p.work(ctx) })
	}
	wg.Wait()
	return nil
}

// work is one worker: claim a job, run it, repeat; sleep when there is none.
func (p *workerPool) work(ctx context.Context) {
	ticker := time.NewTicker(idlePoll)
	defer ticker.Stop()
	for ctx.Err() == nil {
		job, ev, err := p.store.ClaimNext(ctx)
		if err == nil {
			if ev != nil {
				p.hub.Publish(*ev)
			}
			// Another job may be waiting for another idle worker.
			p.Wake()
			p.run(ctx, job)
			continue
		}
		if !errors.Is(err, errNotFound) && ctx.Err() == nil {
			p.log.Error("unable to claim a job", "error", err)
		}
		select {
		case <-ctx.Done():
		case <-p.wake:
		case <-ticker.C:
		}
	}
}

// run transcribes one job and records the outcome. When ctx ends (the
// engine is stopping) the job goes back to the queue and restarts from the
// beginning next time. While it runs, its lease is renewed; a job whose
// lease was lost (this node stalled past it and another took the job, or
// it was deleted) is stopped and left alone.
func (p *workerPool) run(ctx context.Context, job claimedJob) {
	jobCtx, cancel := context.WithCancel(ctx)
	p.mu.Lock()
	p.running[job.ID] = cancel
	p.mu.Unlock()
	log := p.log.With("transcription_id", job.ID)
	var (
		heartbeat sync.WaitGroup
		lost      atomic.Bool
	)
	heartbeat.Go(func() {
		if !p.holdLease(jobCtx, job.ID, log) {
			lost.Store(true)
			cancel()
		}
	})
	defer func() {
		p.mu.Lock()
		delete(p.running, job.ID)
		p.mu.Unlock()
		cancel()
		heartbeat.Wait()
	}()

	started := time.Now()
	log.Info("transcription started", "duration", job.Duration)
	transcript, err := p.transcribe(jobCtx, job)
	// The outcome is recorded even though ctx may be done.
	bg, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer stop()
	var (
		ev     jobEvent
		queued bool
	)
	switch {
	case err == nil:
		result := resultOf(transcript, job)
		ev, queued, err = p.store.MarkCompleted(bg, job.ID, result)
		log.Info("transcription completed", "elapsed_ms", time.Since(started).Milliseconds(),
			"audio_seconds", result.Duration, "words", countWords(result))
	case lost.Load():
		log.Warn("transcription stopped: its lease was lost")
		return
	case ctx.Err() != nil:
		if err := p.store.ReleaseJob(bg, job.ID); err != nil {
			log.Error("unable to requeue interrupted job", "error", err)
		}
		log.Info("transcription interrupted, requeued")
		return
	case jobCtx.Err() != nil:
		log.Info("transcription cancelled (deleted)")
		return
	default:
		reason := failureReason(err)
		log.Warn("transcription failed", "error", err, "code", reason.Code)
		ev, queued, err = p.store.MarkFailed(bg, job.ID, reason)
	}
	if errors.Is(err, errNotFound) {
		return // deleted meanwhile
	}
	if errors.Is(err, errLeaseLost) {
		log.Warn("transcription outcome dropped: another node holds the job now")
		return
	}
	if err != nil {
		log.Error("unable to record outcome", "error", err)
		// Hand it back so the next start retries rather than leaving it stuck.
		if err := p.store.ReleaseJob(bg, job.ID); err != nil {
			log.Error("unable to requeue job", "error", err)
		}
		return
	}
	p.hub.Publish(ev)
	if queued {
		p.outbox.Wake()
	}
}

// holdLease renews the job's lease every third of its length until ctx
// ends (it returns true) or the lease is no longer this node's (false). A
// failed renewal is retried at the next tick: the lease outlives two.
func (p *workerPool) holdLease(ctx context.Context, id string, log *slog.Logger) bool {
	ticker := time.NewTicker(p.store.lease / 3)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return true
		case <-ticker.C:
		}
		held, err := p.store.RenewLease(ctx, id)
		switch {
		case ctx.Err() != nil:
			return true
		case err != nil:
			log.Error("unable to renew the job's lease", "error", err)
		case !held:
			return false
		}
	}
}

// transcribe decodes the job's audio with ffmpeg and runs the recognizer,
// recording throttled progress.
func (p *workerPool) transcribe(ctx context.Context, job claimedJob) (speech.Transcript, error) {
	path := audioFile(p.audioDir, job.AudioPath)
	if _, err := os.Stat(path); err != nil {
		return speech.Transcript{}, &jobFailure{deepscript.CodeInternal, "The uploaded audio file is missing from the engine's storage.", err}
	}
	pcm, err := speech.Decode(ctx, path)
	if err != nil {
		return speech.Transcript{}, err
	}
	defer pcm.Close()

	high := job.Progress
	var lastAt time.Time
	progress := func(seconds float64) {
		if job.Duration <= 0 || ctx.Err() != nil {
			return
		}
		f := math.Floor(min(seconds/job.Duration, progressCeiling)*1000) / 1000
		if f < high+progressStep || time.Since(lastAt) < progressInterval {
			return
		}
		ev, changed, err := p.store.UpdateProgress(ctx, job.ID, f)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Error("unable to record progress", "transcription_id", job.ID, "error", err)
			}
			return
		}
		high, lastAt = f, time.Now()
		if changed {
			p.hub.Publish(ev)
		}
	}
	transcript, err := p.recognizer.Recognize(ctx, pcm, progress)
	if cerr := pcm.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil && truncated(job.Duration, transcript.Duration) {
		return transcript, &jobFailure{deepscript.CodeUnsupportedMedia, fmt.Sprintf(
			"The file seems truncated: its audio stops at %.1f s of the %.1f s its header announces. Upload the complete file again.",
			transcript.Duration, job.Duration), errors.New("decoded audio shorter than probed")}
	}
	return transcript, err
}

// truncated reports whether the decoded audio falls well short of the
// duration the container announced: ffmpeg decodes a cut-off file without
// an error, and a silently partial transcript would mislead. The margin
// absorbs ffprobe's estimates (mp3 may be off by ~0.1 s).
func truncated(probed, decoded float64) bool {
	return probed >= 1 && decoded < probed*0.9-0.5
}

// jobFailure is a failure with the code and message a person reads.
type jobFailure struct {
	Code    string
	Message string
	Err     error
}

func (f *jobFailure) Error() string { return f.Message + ": " + f.Err.Error() }
func (f *jobFailure) Unwrap() error { return f.Err }

// failureReason explains a failed job to a person.
func failureReason(err error) deepscript.ErrorBody {
	var (
		jf  *jobFailure
		dec *speech.DecodeError
	)
	switch {
	case errors.As(err, &jf):
		return deepscript.ErrorBody{Code: jf.Code, Message: jf.Message}
	case errors.As(err, &dec):
		return deepscript.ErrorBody{Code: deepscript.CodeUnsupportedMedia, Message: fmt.Sprintf(
			"The audio could not be decoded; the file may be truncated or damaged (ffmpeg: %s).", ffmpegSummary(dec.Stderr))}
	case errors.Is(err, speech.ErrClosed):
		return deepscript.ErrorBody{Code: deepscript.CodeUnavailable, Message: "The speech recognizer was shut down during this job."}
	}
	return deepscript.ErrorBody{Code: deepscript.CodeInternal, Message: "Speech recognition failed: " + err.Error()}
}

// ffmpegNoise is what makes ffmpeg's messages unreadable to a person:
// decoder addresses and repeat counters.
var ffmpegNoise = regexp.MustCompile(`\[[^\]]* @ 0x[0-9a-f]+\] |\s*Last message repeated \d+ times`)

// ffmpegSummary shortens ffmpeg's stderr to its first message.
func ffmpegSummary(stderr string) string {
	msg := strings.TrimSpace(ffmpegNoise.ReplaceAllString(stderr, ""))
	const max = 160
	if len(msg) > max {
		cut := strings.LastIndexByte(msg[:max], ' ')
		if cut < max/2 {
			cut = max
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// resultOf converts the recognizer's transcript to the contract's Result.
func resultOf(t speech.Transcript, job claimedJob) deepscript.Result {
	r := deepscript.Result{
		Text:     t.Text,
		Language: job.Language,
		Duration: t.Duration,
		Segments: make([]deepscript.Segment, 0, len(t.Segments)),
	}
	if r.Duration <= 0 {
		r.Duration = job.Duration
	}
	for _, s := range t.Segments {
		seg := deepscript.Segment{Start: s.Start, End: s.End, Text: s.Text, Words: make([]deepscript.Word, 0, len(s.Words))}
		for _, w := range s.Words {
			seg.Words = append(seg.Words, deepscript.Word{Word: w.Word, Start: w.Start, End: w.End, Confidence: w.Confidence})
		}
		r.Segments = append(r.Segments, seg)
	}
	return r
}

func countWords(r deepscript.Result) int {
	n := 0
	for _, s := range r.Segments {
		n += len(s.Words)
	}
	return n
}
