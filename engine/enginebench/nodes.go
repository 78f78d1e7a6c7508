package enginebench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"scribe/deepscript"
	"scribe/engine"
	"scribe/engine/speech"
	"scribe/pglocal"
)

// NodesOptions says what MeasureNodes runs. Zero values take the defaults.
type NodesOptions struct {
	// Jobs is the batch submitted to each setup (default 24), the corpus's
	// passages in turn.
	Jobs int
	// Workers is each node's workers (default: the number of cores, the
	// engine's default).
	Workers int
	// Rounds is how many times each setup runs, alternating (default 2).
	Rounds int
	// Log, when set, receives a line as each run starts.
	Log io.Writer
}

// NodesRun is one batch through one setup.
type NodesRun struct {
	Nodes        int
	Elapsed      time.Duration // first submit to last completion
	JobsPerMin   float64
	AudioSeconds float64
	PerNode      []int // jobs each node's workers recognised
}

// MeasureNodes runs one batch of flite speech through one engine node and
// through two nodes (in this process, each with its own recognizer and
// data directory) on one PostgreSQL and one storage directory, Rounds
// times each, alternating, so both setups see the same machine.
func MeasureNodes(ctx context.Context, opts NodesOptions) ([]NodesRun, error) {
	if opts.Jobs <= 0 {
		opts.Jobs = 24
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.NumCPU()
	}
	if opts.Rounds <= 0 {
		opts.Rounds = 2
	}
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", args...)
		}
	}
	dir, err := os.MkdirTemp("", "enginebench-nodes-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	passages, err := speakCorpus(ctx, dir)
	if err != nil {
		return nil, err
	}
	// Its own top directory: PostgreSQL runs as another user when we are
	// root, and must reach it.
	pgDir, err := os.MkdirTemp("", "enginebench-pg-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(pgDir)
	pg, err := pglocal.Start(pgDir, pglocal.Options{Fast: true})
	if err != nil {
		return nil, err
	}
	defer pg.Stop()

	var runs []NodesRun
	for round := range opts.Rounds {
		for _, nodes := range []int{1, 2} {
			logf("round %d: %d jobs on %d node(s) of %d workers", round+1, opts.Jobs, nodes, opts.Workers)
			db, err := pg.CreateDatabase(ctx, fmt.Sprintf("nodes_%d_%d", round, nodes))
			if err != nil {
				return nil, err
			}
			run, err := runBatch(ctx, filepath.Join(dir, fmt.Sprintf("run-%d-%d", round, nodes)), db, nodes, passages, opts)
			if err != nil {
				return nil, err
			}
			logf("  %.1f jobs/min, %s, per node %v", run.JobsPerMin, run.Elapsed.Round(100*time.Millisecond), run.PerNode)
			runs = append(runs, run)
		}
	}
	return runs, nil
}

// countingRecognizer counts the jobs a node recognised.
type countingRecognizer struct {
	speech.Recognizer
	jobs atomic.Int64
}

func (c *countingRecognizer) Recognize(ctx context.Context, pcm io.Reader, progress func(float64)) (speech.Transcript, error) {
	c.jobs.Add(1)
	return c.Recognizer.Recognize(ctx, pcm, progress)
}

// runBatch starts the nodes, submits the batch round robin and waits for
// every job to complete.
func runBatch(ctx context.Context, dir, databaseURL string, nodes int, passages []spoken, opts NodesOptions) (NodesRun, error) {
	run := NodesRun{Nodes: nodes}
	storage := (&url.URL{Scheme: "file", Path: filepath.Join(dir, "audio")}).String()
	var (
		servers  []*engine.Server
		counters []*countingRecognizer
		clients  []*deepscript.Client
	)
	defer func() {
		for _, s := range servers {
			shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			s.Shutdown(shut) //nolint:errcheck // measuring, not serving
			cancel()
		}
		for _, c := range counters {
			c.Recognizer.Close()
		}
	}()
	for i := range nodes {
		ps, err := speech.NewPocketsphinx(speech.PocketsphinxOptions{Workers: opts.Workers})
		if err != nil {
			return run, err
		}
		counter := &countingRecognizer{Recognizer: ps}
		counters = append(counters, counter)
		cfg := engine.DefaultConfig()
		cfg.Addr = "127.0.0.1:0"
		cfg.DataDir = filepath.Join(dir, fmt.Sprintf("node-%d", i))
		cfg.APIKey = "bench"
		cfg.Workers = opts.Workers
		cfg.DatabaseURL, cfg.StorageURL = databaseURL, storage
		cfg.Recognizer = counter
		srv, err := engine.Start(ctx, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			return run, err
		}
		servers = append(servers, srv)
		clients = append(clients, deepscript.New(srv.URL(), cfg.APIKey, nil))
	}

	began := time.Now()
	ids := make([]string, 0, opts.Jobs)
	for i := range opts.Jobs {
		p := passages[i%len(passages)]
		f, err := os.Open(p.path)
		if err != nil {
			return run, err
		}
		tr, err := clients[i%nodes].CreateTranscription(ctx, deepscript.CreateRequest{File: f, Filename: filepath.Base(p.path)})
		f.Close()
		if err != nil {
			return run, err
		}
		ids = append(ids, tr.ID)
		run.AudioSeconds += p.seconds
	}
	for _, id := range ids {
		for {
			st, err := clients[0].Status(ctx, id)
			if err != nil {
				return run, err
			}
			if st.Status == deepscript.StatusFailed {
				return run, fmt.Errorf("enginebench: job %s failed: %+v", id, st.Error)
			}
			if st.Status == deepscript.StatusCompleted {
				break
			}
			select {
			case <-ctx.Done():
				return run, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	run.Elapsed = time.Since(began)
	run.JobsPerMin = float64(opts.Jobs) / run.Elapsed.Minutes()
	for _, c := range counters {
		run.PerNode = append(run.PerNode, int(c.jobs.Load()))
	}
	return run, nil
}
