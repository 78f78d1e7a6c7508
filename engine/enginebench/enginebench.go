// Package enginebench measures the embedded engine's recogniser on long
// files spoken by flite: how much faster one file goes with N decoders
// than with one, at what word error rate, and how much memory a two-hour
// file takes. make bench-engine prints its figures; make bench reuses
// Measure.
package enginebench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"scribe/engine/speech"
	"scribe/engine/speech/corpus"
)

// Options says what Measure runs. Zero values take the defaults.
type Options struct {
	// Dir holds the generated audio (default: a temporary directory,
	// removed afterwards).
	Dir string
	// FileDuration is the length of the file recognised with one and with
	// Workers decoders (default 10 min): the corpus, spoken back to back
	// with pauses between passages, repeated to fill it.
	FileDuration time.Duration
	// LongDuration is the length of the file whose memory is watched
	// (default 2 h; negative skips it). It has one passage every
	// LongEvery, silence between, so that it runs in under a minute: the
	// whole PCM still streams through ffmpeg, the splitter and the pool.
	LongDuration time.Duration
	// LongEvery is how often a passage is spoken in the long file
	// (default 2 min).
	LongEvery time.Duration
	// Workers is the decoders of the parallel run and the long file
	// (default 2).
	Workers int
	// Decoder overrides pocketsphinx settings, as
	// speech.PocketsphinxOptions.Config.
	Decoder map[string]string
	// Log, when set, receives a line as each step starts.
	Log io.Writer
}

func (o Options) withDefaults() Options {
	if o.FileDuration <= 0 {
		o.FileDuration = 10 * time.Minute
	}
	if o.LongDuration == 0 {
		o.LongDuration = 2 * time.Hour
	}
	if o.LongEvery <= 0 {
		o.LongEvery = 2 * time.Minute
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

// Figures are what Measure found.
type Figures struct {
	Workers      int     // decoders of the parallel run
	AudioSeconds float64 // length of the file run with 1 and Workers decoders
	Words        int     // reference words in it

	Wall1, WallN time.Duration // recognition time with 1 and Workers decoders
	WER1, WERN   float64
	// CPU1 and CPUN are the CPU time the process used meanwhile (not
	// ffmpeg's): CPUN / WallN near Workers means the cores were ours,
	// well below it that other work on the machine took them.
	CPU1, CPUN time.Duration
	// Speedup is Wall1 / WallN.
	Speedup float64
	// MeanBusy is the mean number of decoders at work during the
	// parallel run (sampled every 20 ms): Workers when none ever waits.
	MeanBusy float64

	// The long file (zero when skipped).
	LongSeconds float64
	LongWall    time.Duration
	LongWords   int
	// Resident memory of the process (VmRSS, sampled every 20 ms): once
	// the decoders are loaded, the most during the long file's first
	// tenth, and the most during all of it.
	RSSStart, RSSEarly, RSSPeak int64
}

// RSSGrowth is how much resident memory grew after the first tenth of the
// long file: about zero when memory is flat.
func (f Figures) RSSGrowth() int64 { return f.RSSPeak - f.RSSEarly }

// Measure generates the audio with flite, sox and ffmpeg, then recognises
// the long file and the file with opts.Workers decoders, and the file
// again with one. It takes about FileDuration × 0.25 plus a minute on
// two cores. Resident memory is the
// whole process's: run nothing else in it meanwhile.
func Measure(ctx context.Context, opts Options) (Figures, error) {
	opts = opts.withDefaults()
	if opts.Dir == "" {
		dir, err := os.MkdirTemp("", "enginebench-")
		if err != nil {
			return Figures{}, err
		}
		defer os.RemoveAll(dir)
		opts.Dir = dir
	}
	fig := Figures{Workers: opts.Workers}
	fmt.Fprintf(opts.Log, "enginebench: speaking the corpus\n")
	passages, err := speakCorpus(ctx, opts.Dir)
	if err != nil {
		return fig, err
	}

	// The parallel pool first: decoders' memory stays with the process
	// after they are freed, so the long file's figures are cleanest with
	// no other pool loaded before.
	psN, err := speech.NewPocketsphinx(speech.PocketsphinxOptions{Workers: opts.Workers, Config: opts.Decoder})
	if err != nil {
		return fig, err
	}
	defer psN.Close()
	if opts.LongDuration > 0 {
		if err := measureLong(ctx, psN, passages, opts, &fig); err != nil {
			return fig, err
		}
	}

	fmt.Fprintf(opts.Log, "enginebench: making a %s file\n", opts.FileDuration)
	file, reference, err := makeFile(ctx, opts.Dir, passages, opts.FileDuration)
	if err != nil {
		return fig, err
	}
	fig.Words = len(speech.NormalizeWords(reference))
	fmt.Fprintf(opts.Log, "enginebench: recognising it with %d decoders\n", opts.Workers)
	runN, err := recognize(ctx, psN, file, nil)
	if err != nil {
		return fig, err
	}
	psN.Close()
	fmt.Fprintf(opts.Log, "enginebench: recognising it with 1 decoder\n")
	ps1, err := speech.NewPocketsphinx(speech.PocketsphinxOptions{Workers: 1, Config: opts.Decoder})
	if err != nil {
		return fig, err
	}
	defer ps1.Close()
	run1, err := recognize(ctx, ps1, file, nil)
	if err != nil {
		return fig, err
	}
	fig.AudioSeconds = run1.transcript.Duration
	fig.Wall1, fig.WER1, fig.CPU1 = run1.wall, werOf(reference, run1.transcript), run1.cpu
	fig.WallN, fig.WERN, fig.CPUN, fig.MeanBusy = runN.wall, werOf(reference, runN.transcript), runN.cpu, runN.meanBusy
	fig.Speedup = fig.Wall1.Seconds() / fig.WallN.Seconds()
	return fig, nil
}

// measureLong recognises the long, sparse file with ps and records its
// figures in fig.
func measureLong(ctx context.Context, ps *speech.Pocketsphinx, passages []spoken, opts Options, fig *Figures) error {
	fmt.Fprintf(opts.Log, "enginebench: making a %s file, a passage every %s\n", opts.LongDuration, opts.LongEvery)
	long, err := makeSparse(ctx, opts.Dir, passages, opts.LongDuration, opts.LongEvery)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Log, "enginebench: recognising it with %d decoders\n", ps.Workers())
	rss := &rssWatch{early: opts.LongDuration.Seconds() / 10, start: residentBytes()}
	run, err := recognize(ctx, ps, long, rss)
	if err != nil {
		return err
	}
	fig.LongSeconds, fig.LongWall = run.transcript.Duration, run.wall
	for _, s := range run.transcript.Segments {
		fig.LongWords += len(s.Words)
	}
	fig.RSSStart, fig.RSSEarly, fig.RSSPeak = rss.start, rss.earlyPeak, rss.peak
	return nil
}

func werOf(reference string, tr speech.Transcript) float64 {
	errs, words := speech.WordErrors(reference, tr.Text)
	return float64(errs) / float64(max(words, 1))
}

// recognition is one run of recognize.
type recognition struct {
	transcript speech.Transcript
	wall, cpu  time.Duration
	meanBusy   float64
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// recognize decodes path with ffmpeg and recognises it with ps, as the
// engine's worker does, timing it. When rss is set, it follows the
// process's resident memory meanwhile.
func recognize(ctx context.Context, ps *speech.Pocketsphinx, path string, rss *rssWatch) (recognition, error) {

	var (
		mu                     sync.Mutex
		position               float64 // seconds of audio recognised
		busySamples, busyTotal int
	)
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ticker.C:
			}
			busy := ps.Busy()
			mu.Lock()
			busySamples++
			busyTotal += busy
			at := position
			mu.Unlock()
			if rss != nil {
				rss.sample(at, residentBytes())
			}
		}
	})
	defer func() { close(stop); sampler.Wait() }()

	pcm, err := speech.Decode(ctx, path)
	if err != nil {
		return recognition{}, err
	}
	defer pcm.Close()
	cpuBefore := cpuTime()
	start := time.Now()
	tr, err := ps.Recognize(ctx, pcm, func(s float64) {
		mu.Lock()
		position = s
		mu.Unlock()
	})
	wall, cpu := time.Since(start), cpuTime()-cpuBefore
	if err != nil {
		return recognition{}, err
	}
	if err := pcm.Close(); err != nil {
		return recognition{}, err
	}
	mu.Lock()
	defer mu.Unlock()
	return recognition{transcript: tr, wall: wall, cpu: cpu, meanBusy: float64(busyTotal) / float64(max(busySamples, 1))}, nil
}

// rssWatch keeps the highest resident memory seen, overall and while the
// recognition was within its first early seconds of audio.
type rssWatch struct {
	early                  float64
	start, earlyPeak, peak int64
}

func (w *rssWatch) sample(position float64, rss int64) {
	w.peak = max(w.peak, rss)
	if position < w.early {
		w.earlyPeak = max(w.earlyPeak, rss)
	}
}

// residentBytes is the process's VmRSS, or 0 where /proc cannot tell.
func residentBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// spoken is a passage as a wav file and its length.
type spoken struct {
	corpus.Passage
	path    string
	seconds float64
}

// speakCorpus writes every passage as a wav with flite.
func speakCorpus(ctx context.Context, dir string) ([]spoken, error) {
	var out []spoken
	for _, p := range corpus.Passages {
		path := filepath.Join(dir, p.Name+".wav")
		if err := p.Speak(ctx, path); err != nil {
			return nil, err
		}
		secs, err := soxDuration(ctx, path)
		if err != nil {
			return nil, err
		}
		out = append(out, spoken{Passage: p, path: path, seconds: secs})
	}
	return out, nil
}

// makeFile speaks the corpus over and over, an equal pause after each
// passage, so that it fills exactly d; it returns the file (16 kHz wav)
// and its text.
func makeFile(ctx context.Context, dir string, passages []spoken, d time.Duration) (path, text string, err error) {
	const minPause = 0.8 // seconds: a breath, well above the splitter's 0.3 s
	var speech float64
	for _, p := range passages {
		speech += p.seconds
	}
	round := speech + minPause*float64(len(passages))
	rounds := max(int(d.Seconds()/round), 1)
	pause := max(d.Seconds()/float64(rounds)-speech, 0) / float64(len(passages))
	gap, err := silence(ctx, dir, pause)
	if err != nil {
		return "", "", err
	}
	var parts, texts []string
	for range rounds {
		for _, p := range passages {
			parts = append(parts, p.path, gap)
			texts = append(texts, p.Text)
		}
	}
	path = filepath.Join(dir, fmt.Sprintf("file-%s.wav", d))
	if err := soxJoin(ctx, parts, path); err != nil {
		return "", "", err
	}
	return path, strings.Join(texts, " "), nil
}

// makeSparse writes a file of length d with one passage (in turn) at the
// start of every period, silence otherwise, as flac (silence packs small).
func makeSparse(ctx context.Context, dir string, passages []spoken, d, every time.Duration) (string, error) {
	n := max(int(math.Ceil(d.Seconds()/every.Seconds())), 1)
	var parts []string
	gaps := map[float64]string{}
	left := d.Seconds()
	for i := range n {
		p := passages[i%len(passages)]
		rest := max(min(every.Seconds(), left)-p.seconds, 0)
		left -= p.seconds + rest
		if gaps[rest] == "" {
			g, err := silence(ctx, dir, rest)
			if err != nil {
				return "", err
			}
			gaps[rest] = g
		}
		parts = append(parts, p.path, gaps[rest])
	}
	path := filepath.Join(dir, fmt.Sprintf("sparse-%s.flac", d))
	return path, soxJoin(ctx, parts, path)
}

// silence writes seconds of digital silence as a 16 kHz wav, once per
// length.
func silence(ctx context.Context, dir string, seconds float64) (string, error) {
	path := filepath.Join(dir, fmt.Sprintf("silence-%.4f.wav", seconds))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	cmd := exec.CommandContext(ctx, "sox", "-D", "-n", "-r", "16000", "-c", "1", "-b", "16", path, "trim", "0", fmt.Sprintf("%.4f", seconds))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("enginebench: sox: %v: %s", err, out)
	}
	return path, nil
}

// soxJoin concatenates files (all 16 kHz mono) into out.
func soxJoin(ctx context.Context, files []string, out string) error {
	if len(files) == 0 {
		return errors.New("enginebench: nothing to join")
	}
	// -D: no dither, so that every run recognises the same samples.
	args := append(append([]string{"-D"}, files...), "-r", "16000", "-c", "1", out)
	cmd := exec.CommandContext(ctx, "sox", args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("enginebench: sox: %v: %s", err, b)
	}
	return nil
}

// soxDuration is a sound file's length in seconds.
func soxDuration(ctx context.Context, path string) (float64, error) {
	out, err := exec.CommandContext(ctx, "soxi", "-D", path).Output()
	if err != nil {
		return 0, fmt.Errorf("enginebench: soxi %s: %w", filepath.Base(path), err)
	}
	return strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
}
