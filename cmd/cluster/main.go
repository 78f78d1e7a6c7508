// Command cluster runs scribe as several machines would, on loopback: a
// PostgreSQL from Debian's package, two engine nodes sharing it and one
// audio directory, two app replicas sharing it and one uploads directory,
// and a load balancer in front of each pair. make cluster runs it; Ctrl-C
// stops everything. State is kept in -dir between runs.
//
//	app      http://127.0.0.1:8080  → replicas on :8090 and :8091
//	engine   http://127.0.0.1:8081  → nodes on :8092 and :8093
//
// Run by root, PostgreSQL's files go under /var/lib/postgresql (see
// postgresDir).
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"scribe/lb"
	"scribe/pglocal"
	"scribe/random"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	dir := fs.String("dir", "./data/cluster", "where the database, uploads and each process's data dir live")
	bin := fs.String("scribe", "./bin/scribe", "the scribe binary to run")
	appAddr := fs.String("addr", "127.0.0.1:8080", "the app's load balancer")
	engineAddr := fs.String("engine-addr", "127.0.0.1:8081", "the engines' load balancer")
	ports := fs.String("ports", "8090,8091,8092,8093", "loopback ports of the two replicas, then the two engine nodes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var port [4]int
	if n, _ := fmt.Sscanf(*ports, "%d,%d,%d,%d", &port[0], &port[1], &port[2], &port[3]); n != 4 {
		return fmt.Errorf("-ports %q: want four ports, comma-separated", *ports)
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return err
	}
	pg, err := pglocal.Start(postgresDir(abs), pglocal.Options{})
	if err != nil {
		return err
	}
	defer pg.Stop()
	appDB, err := pg.CreateDatabase(ctx, "scribe")
	if err != nil {
		return err
	}
	engineDB, err := pg.CreateDatabase(ctx, "engine")
	if err != nil {
		return err
	}
	apiKey, err := readOrCreate(filepath.Join(abs, "engine.key"))
	if err != nil {
		return err
	}

	var procs []*exec.Cmd
	defer func() { stopAll(procs) }()
	start := func(name string, env ...string) error {
		cmd := exec.Command(*bin, env[0])
		cmd.Env = append(os.Environ(), env[1:]...)
		cmd.Stdout, cmd.Stderr = prefixed(name), prefixed(name)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		procs = append(procs, cmd)
		return nil
	}
	var engines, apps []*url.URL
	for i := range 2 {
		addr := fmt.Sprintf("127.0.0.1:%d", port[2+i])
		if err := start(fmt.Sprintf("engine-%d", i+1), "engine",
			"SCRIBE_ENGINE_ADDR="+addr,
			"SCRIBE_ENGINE_DATA_DIR="+filepath.Join(abs, fmt.Sprintf("engine-%d", i+1)),
			"SCRIBE_ENGINE_DATABASE_URL="+engineDB,
			"SCRIBE_ENGINE_STORAGE_URL="+fileURL(filepath.Join(abs, "engine-audio")),
			"SCRIBE_ENGINE_API_KEY="+apiKey); err != nil {
			return err
		}
		engines = append(engines, &url.URL{Scheme: "http", Host: addr})
	}
	// The replicas register their webhook with the engine at start: let
	// the engines come up first.
	for _, e := range engines {
		if err := awaitListening(ctx, e.Host); err != nil {
			return err
		}
	}
	for i := range 2 {
		addr := fmt.Sprintf("127.0.0.1:%d", port[i])
		if err := start(fmt.Sprintf("app-%d", i+1), "serve",
			"SCRIBE_ADDR="+addr,
			"SCRIBE_PUBLIC_URL=http://"+*appAddr,
			"SCRIBE_DATA_DIR="+filepath.Join(abs, fmt.Sprintf("app-%d", i+1)),
			"SCRIBE_DATABASE_URL="+appDB,
			"SCRIBE_UPLOADS_URL="+fileURL(filepath.Join(abs, "uploads")),
			"DEEPSCRIPT_URL=http://"+*engineAddr,
			"DEEPSCRIPT_API_KEY="+apiKey,
			"SCRIBE_WEBHOOK_ALLOW_PRIVATE=1"); err != nil {
			return err
		}
		apps = append(apps, &url.URL{Scheme: "http", Host: addr})
	}

	servers := []*http.Server{
		{Addr: *appAddr, Handler: lb.New(apps...), ReadHeaderTimeout: 10 * time.Second},
		{Addr: *engineAddr, Handler: lb.New(engines...), ReadHeaderTimeout: 10 * time.Second},
	}
	failed := make(chan error, len(servers))
	for _, s := range servers {
		ln, err := net.Listen("tcp", s.Addr)
		if err != nil {
			return err
		}
		go func() { failed <- s.Serve(ln) }()
	}
	fmt.Printf("cluster: app on http://%s (replicas %s, %s), engine on http://%s (nodes %s, %s), PostgreSQL in %s\n",
		*appAddr, apps[0].Host, apps[1].Host, *engineAddr, engines[0].Host, engines[1].Host, postgresDir(abs))
	select {
	case <-ctx.Done():
	case err = <-failed:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		s.Shutdown(sctx) //nolint:errcheck // stopping anyway
	}
	return err
}

// awaitListening waits up to a minute for something to listen on addr.
func awaitListening(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nothing listens on %s: %w", addr, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// postgresDir is where the cluster's PostgreSQL keeps its files. Run by
// root, PostgreSQL runs as the postgres user, who may not reach dir (under
// /root, say), so its files go in that user's home instead, in a directory
// named after dir.
func postgresDir(dir string) string {
	if os.Geteuid() != 0 {
		return filepath.Join(dir, "postgres")
	}
	sum := sha256.Sum256([]byte(dir))
	return "/var/lib/postgresql/scribe-cluster-" + hex.EncodeToString(sum[:4])
}

// stopAll sends SIGTERM to every process and waits for them to drain.
func stopAll(procs []*exec.Cmd) {
	var wg sync.WaitGroup
	for _, p := range procs {
		p.Process.Signal(syscall.SIGTERM) //nolint:errcheck // gone already is fine
		wg.Go(func() { p.Wait() })        //nolint:errcheck // its exit status is in its log
	}
	wg.Wait()
}

func fileURL(path string) string { return (&url.URL{Scheme: "file", Path: path}).String() }

// readOrCreate returns the key kept in path, creating it on the first run.
func readOrCreate(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := random.Hex(24)
		return key, os.WriteFile(path, []byte(key), 0o600)
	}
	return strings.TrimSpace(string(b)), err
}

// prefixed writes a process's output under its name, a line at a time.
func prefixed(name string) io.Writer { return &prefixWriter{prefix: "[" + name + "] "} }

type prefixWriter struct {
	prefix  string
	partial []byte // the start of a line not yet ended
}

var stdoutMu sync.Mutex // one line at a time from every process

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		line, rest, ok := bytes.Cut(w.partial, []byte("\n"))
		if !ok {
			return len(p), nil
		}
		stdoutMu.Lock()
		fmt.Fprintf(os.Stdout, "%s%s\n", w.prefix, line)
		stdoutMu.Unlock()
		w.partial = rest
	}
}
