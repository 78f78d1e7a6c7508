// Command bench-engine measures the offline pocketsphinx recognizer on a
// corpus it speaks with flite: WER per passage, real-time factor with one
// and with N workers, then (enginebench.Measure) one long file with one
// and with N workers, and memory over a two-hour file.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"scribe/engine/enginebench"
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
	fileMinutes := fs.Float64("file-minutes", 10, "length of the file run with 1 and N workers, in minutes")
	longMinutes := fs.Float64("long-minutes", 120, "length of the file whose memory is watched, in minutes (0 skips it)")
	workers := fs.Int("workers", runtime.NumCPU(), "workers for the parallel runs")
	perPassage := fs.Bool("corpus", true, "measure WER per passage and throughput on the corpus first")
	config := fs.String("config", "", "decoder settings to try, e.g. -config '-pl_window=5,-maxwpf=10'")
	nodes := fs.Int("nodes", 0, "instead, measure jobs per minute with 1 and 2 engine nodes on one PostgreSQL, this many jobs a batch")
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

	out := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	defer out.Flush()

	if *nodes > 0 {
		runs, err := enginebench.MeasureNodes(ctx, enginebench.NodesOptions{Jobs: *nodes, Workers: *workers, Log: os.Stderr})
		if err != nil {
			return err
		}
		fmt.Fprintln(out, "nodes\tworkers each\tjobs\taudio s\telapsed\tjobs/min\tjobs per node\t")
		for _, r := range runs {
			fmt.Fprintf(out, "%d\t%d\t%d\t%.0f\t%s\t%.1f\t%v\t\n", r.Nodes, *workers, *nodes, r.AudioSeconds,
				r.Elapsed.Round(100*time.Millisecond), r.JobsPerMin, r.PerNode)
		}
		return nil
	}

	if *perPassage {
		if err := benchCorpus(ctx, out, dir, *workers, decoder); err != nil {
			return err
		}
	}

	opts := enginebench.Options{
		Dir:          dir,
		FileDuration: time.Duration(*fileMinutes * float64(time.Minute)),
		LongDuration: time.Duration(*longMinutes * float64(time.Minute)),
		Workers:      *workers,
		Decoder:      decoder,
		Log:          os.Stderr,
	}
	if *longMinutes <= 0 {
		opts.LongDuration = -1
	}
	fig, err := enginebench.Measure(ctx, opts)
	if err != nil {
		return err
	}
	printFigures(out, fig)
	return nil
}

// benchCorpus prints the WER of each passage with one worker, and the
// throughput of one worker and of workers on the corpus.
func benchCorpus(ctx context.Context, out *tabwriter.Writer, dir string, workers int, decoder map[string]string) error {
	files, err := speakCorpus(ctx, dir)
	if err != nil {
		return err
	}
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
	psN, err := speech.NewPocketsphinx(speech.PocketsphinxOptions{Workers: workers, Config: decoder})
	if err != nil {
		return err
	}
	initN := time.Since(start)
	var jobs []string
	for range 2 {
		jobs = append(jobs, files...)
	}
	start = time.Now()
	if err := recognizeAll(ctx, psN, jobs, workers); err != nil {
		return err
	}
	wallN := time.Since(start)
	psN.Close()

	rtf1 := wall1.Seconds() / audio
	rtfN := wallN.Seconds() / (2 * audio)
	fmt.Fprintf(out, "run\tworkers\tinit s\taudio s\twall s\tRTF (wall/audio)\tthroughput ×rt\t\n")
	fmt.Fprintf(out, "sequential\t1\t%.1f\t%.1f\t%.1f\t%.3f\t%.1f\t\n", initOne.Seconds(), audio, wall1.Seconds(), rtf1, 1/rtf1)
	fmt.Fprintf(out, "parallel\t%d\t%.1f\t%.1f\t%.1f\t%.3f\t%.1f\t\n", workers, initN.Seconds(), 2*audio, wallN.Seconds(), rtfN, 1/rtfN)
	fmt.Fprintf(out, "throughput ratio %d:1\t\t\t\t\t\t%.2f\t\n", workers, rtf1/rtfN)
	fmt.Fprintf(out, "peak RSS (VmHWM)\t\t\t\t\t\t%s\t\n\n", memStat("VmHWM"))
	out.Flush()

	return nil
}

// printFigures writes enginebench's figures as two tables.
func printFigures(out *tabwriter.Writer, f enginebench.Figures) {
	fmt.Fprintf(out, "one file\tworkers\taudio s\twall s\tRTF\tWER\twords\tcores used\tdecoders busy\t\n")
	fmt.Fprintf(out, "sequential\t1\t%.0f\t%.1f\t%.3f\t%.3f\t%d\t%.2f\t\t\n",
		f.AudioSeconds, f.Wall1.Seconds(), f.Wall1.Seconds()/f.AudioSeconds, f.WER1, f.Words, f.CPU1.Seconds()/f.Wall1.Seconds())
	fmt.Fprintf(out, "chunk-parallel\t%d\t%.0f\t%.1f\t%.3f\t%.3f\t%d\t%.2f\t%.2f\t\n",
		f.Workers, f.AudioSeconds, f.WallN.Seconds(), f.WallN.Seconds()/f.AudioSeconds, f.WERN, f.Words, f.CPUN.Seconds()/f.WallN.Seconds(), f.MeanBusy)
	fmt.Fprintf(out, "speedup %d:1\t\t\t\t\t\t\t\t%.2f×\t\n\n", f.Workers, f.Speedup)
	if f.LongSeconds > 0 {
		mb := func(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }
		fmt.Fprintf(out, "long file\tworkers\taudio min\twall s\twords\tRSS loaded\tRSS first tenth\tRSS peak\tgrowth\t\n")
		fmt.Fprintf(out, "sparse\t%d\t%.0f\t%.1f\t%d\t%s\t%s\t%s\t%s\t\n", f.Workers, f.LongSeconds/60, f.LongWall.Seconds(), f.LongWords,
			mb(f.RSSStart), mb(f.RSSEarly), mb(f.RSSPeak), mb(f.RSSGrowth()))
	}
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
