// Command bench-engine measures the offline pocketsphinx recognizer on a
// corpus it speaks with flite: WER, real-time factor with one and with
// NumCPU workers, peak memory, and memory over an hour-long input.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"scribe/engine/speech"
	"scribe/engine/speech/corpus"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench-engine:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench-engine", flag.ContinueOnError)
	hourMinutes := fs.Int("long-minutes", 60, "length of the long input in minutes (0 skips it)")
	workers := fs.Int("workers", runtime.NumCPU(), "workers for the parallel run")
	config := fs.String("config", "", "decoder settings to try, e.g. -config '-pl_window=5,-maxwpf=10'")
	if err := fs.Parse(args); err != nil {
		return err
	}
	decoder := map[string]string{}
	for _, kv := range strings.Split(*config, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			decoder[k] = v
		}
	}
	began := time.Now()
	defer func() { fmt.Fprintf(stdout, "\nbench took %s\n", time.Since(began).Round(time.Second)) }()
	dir, err := os.MkdirTemp("", "bench-engine-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	files, err := speakCorpus(ctx, dir)
	if err != nil {
		return err
	}
	out := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	defer out.Flush()

	// One worker: WER per passage and the single-decoder speed.
	start := time.Now()
	ps1, err := speech.NewPocketsphinx(speech.PocketsphinxOptions{Workers: 1, Config: decoder})
	if err != nil {
		return err
	}
	initOne := time.Since(start)
	fmt.Fprintf(out, "passage\tvoice\taudio s\tWER\twords\t\n")
	var errsTotal, wordsTotal int
	var audio float64
	start = time.Now()
	for i, p := range corpus.Passages {
		tr, err := recognizeFile(ctx, ps1, files[i])
		if err != nil {
			return err
		}
		e, n := speech.WordErrors(p.Text, tr.Text)
		errsTotal += e
		wordsTotal += n
		audio += tr.Duration
		fmt.Fprintf(out, "%s\t%s\t%.1f\t%.3f\t%d\t\n", p.Name, p.Voice, tr.Duration, float64(e)/float64(n), n)
	}
	wall1 := time.Since(start)
	fmt.Fprintf(out, "overall\t\t%.1f\t%.3f\t%d\t\n\n", audio, float64(errsTotal)/float64(wordsTotal), wordsTotal)
	ps1.Close()

	// N workers: the corpus twice over, shared by N goroutines.
	start = time.Now()
	psN, err := speech.NewPocketsphinx(speech.PocketsphinxOptions{Workers: *workers, Config: decoder})
	if err != nil {
		return err
	}
	initN := time.Since(start)
	var jobs []string
	for range 2 {
		jobs = append(jobs, files...)
	}
	start = time.Now()
	if err := recognizeAll(ctx, psN, jobs, *workers); err != nil {
		return err
	}
	wallN := time.Since(start)
	psN.Close()

	rtf1 := wall1.Seconds() / audio
	rtfN := wallN.Seconds() / (2 * audio)
	fmt.Fprintf(out, "run\tworkers\tinit s\taudio s\twall s\tRTF (wall/audio)\tthroughput ×rt\t\n")
	fmt.Fprintf(out, "sequential\t1\t%.1f\t%.1f\t%.1f\t%.3f\t%.1f\t\n", initOne.Seconds(), audio, wall1.Seconds(), rtf1, 1/rtf1)
	fmt.Fprintf(out, "parallel\t%d\t%.1f\t%.1f\t%.1f\t%.3f\t%.1f\t\n", *workers, initN.Seconds(), 2*audio, wallN.Seconds(), rtfN, 1/rtfN)
	fmt.Fprintf(out, "throughput ratio %d:1\t\t\t\t\t\t%.2f\t\n", *workers, rtf1/rtfN)
	fmt.Fprintf(out, "peak RSS (VmHWM)\t\t\t\t\t\t%s\t\n\n", memStat("VmHWM"))
	out.Flush()

	if *hourMinutes > 0 {
		if err := benchLong(ctx, out, dir, files, *hourMinutes, decoder); err != nil {
			return err
		}
	}
	return nil
}

// benchLong recognizes the corpus looped to minutes of audio and reports
// resident memory as it goes: it should be flat after the first minutes.
func benchLong(ctx context.Context, out *tabwriter.Writer, dir string, files []string, minutes int, decoder map[string]string) error {
	long, err := makeLong(ctx, dir, files, minutes)
	if err != nil {
		return err
	}
	ps, err := speech.NewPocketsphinx(speech.PocketsphinxOptions{Workers: 1, Config: decoder})
	if err != nil {
		return err
	}
	defer ps.Close()
	pcm, err := speech.Decode(ctx, long)
	if err != nil {
		return err
	}
	defer pcm.Close()

	fmt.Fprintf(out, "long input\taudio min\twall s\tRTF\tVmRSS\tVmHWM\t\n")
	out.Flush()
	start := time.Now()
	next := 10.0
	tr, err := ps.Recognize(ctx, pcm, func(s float64) {
		if s/60 >= next {
			fmt.Fprintf(out, "after\t%.0f\t%.0f\t%.3f\t%s\t%s\t\n", s/60, time.Since(start).Seconds(), time.Since(start).Seconds()/s, memStat("VmRSS"), memStat("VmHWM"))
			out.Flush()
			next += 10
		}
	})
	if err != nil {
		return err
	}
	if err := pcm.Close(); err != nil {
		return err
	}
	wall := time.Since(start).Seconds()
	fmt.Fprintf(out, "done\t%.1f\t%.0f\t%.3f\t%s\t%s\t\n", tr.Duration/60, wall, wall/tr.Duration, memStat("VmRSS"), memStat("VmHWM"))
	fmt.Fprintf(out, "segments\t%d\twords\t%d\t\t\t\n", len(tr.Segments), countWords(tr))
	return nil
}

// speakCorpus writes each passage as a wav with flite.
func speakCorpus(ctx context.Context, dir string) ([]string, error) {
	var files []string
	for _, p := range corpus.Passages {
		path := filepath.Join(dir, p.Name+".wav")
		if err := p.Speak(ctx, path); err != nil {
			return nil, err
		}
		files = append(files, path)
	}
	return files, nil
}

// makeLong joins the corpus with 3 s pauses (about 70 % speech, like a
// talk with pauses) and loops it with ffmpeg to the given length, as a
// 16 kHz wav.
func makeLong(ctx context.Context, dir string, files []string, minutes int) (string, error) {
	silence := filepath.Join(dir, "pause.wav")
	if out, err := exec.CommandContext(ctx, "sox", "-n", "-r", "16000", "-c", "1", "-b", "16", silence, "trim", "0", "3").CombinedOutput(); err != nil {
		return "", fmt.Errorf("sox: %v: %s", err, out)
	}
	var parts []string
	for _, f := range files {
		parts = append(parts, f, silence)
	}
	joined := filepath.Join(dir, "corpus.wav")
	if out, err := exec.CommandContext(ctx, "sox", append(parts, joined)...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("sox: %v: %s", err, out)
	}
	long := filepath.Join(dir, "long.wav")
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", "-1", "-i", joined,
		"-t", fmt.Sprint(minutes*60), "-c", "copy", long)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("ffmpeg: %v: %s", err, out)
	}
	return long, nil
}

func recognizeFile(ctx context.Context, r speech.Recognizer, path string) (speech.Transcript, error) {
	pcm, err := speech.Decode(ctx, path)
	if err != nil {
		return speech.Transcript{}, err
	}
	defer pcm.Close()
	tr, err := r.Recognize(ctx, pcm, nil)
	if err != nil {
		return tr, err
	}
	return tr, pcm.Close()
}

// recognizeAll runs files through r with n concurrent callers.
func recognizeAll(ctx context.Context, r speech.Recognizer, files []string, n int) error {
	work := make(chan string)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for f := range work {
				if _, err := recognizeFile(ctx, r, f); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for _, f := range files {
		work <- f
	}
	close(work)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// memStat reads a line such as VmHWM from /proc/self/status.
func memStat(key string) string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "n/a"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "n/a"
}

func countWords(tr speech.Transcript) int {
	n := 0
	for _, s := range tr.Segments {
		n += len(s.Words)
	}
	return n
}
