package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Exit codes of "scribe client", which scripts may rely on.
const (
	ExitOK       = 0 // done
	ExitFailed   = 1 // a job failed, or the server refused the request (not audio, too large, not ready)
	ExitUsage    = 2 // bad command line or missing SCRIBE_URL / SCRIBE_TOKEN
	ExitAuth     = 3 // the token is wrong, revoked or not allowed (401, 403)
	ExitNotFound = 4 // no such job (404)
	ExitServer   = 5 // network failure, or the server failed or is busy (5xx, 429)
)

const usage = `Usage: scribe client COMMAND [ARGS]

Commands:
  upload FILE... [--wait] [--format txt|srt|vtt|json] [-o PATH]
        upload audio files; prints each job's id, or with --wait waits for
        each job and writes its transcript to stdout (or to PATH; with
        several files PATH is a directory)
  list  the jobs, newest first: id, status, created, filename (tab-separated)
  get ID
        one job as JSON
  delete ID
        delete a job

Environment: SCRIBE_URL (the server, e.g. https://scribe.example) and
SCRIBE_TOKEN (an API token made on the server's Account > API tokens page).

Exit status: 0 ok, 1 job failed or request refused, 2 usage, 3 bad token,
4 not found, 5 network or server error.
`

// ExitError is a failure of the command and the status to exit with.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the status the process exits with after err.
func (e *ExitError) ExitCode() int { return e.Code }

// Main runs "scribe client ARGS": it writes results to stdout and
// progress to stderr (a bar only when stderr is a terminal). The error
// it returns is an *ExitError.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return usageError("no command given")
		}
		return nil
	}
	base, token := getenv("SCRIBE_URL"), getenv("SCRIBE_TOKEN")
	if u, err := url.Parse(base); base == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError("set SCRIBE_URL to the server's address, e.g. https://scribe.example")
	}
	if token == "" {
		return usageError("set SCRIBE_TOKEN to an API token (Account > API tokens on the server)")
	}
	c := New(base, token)
	cmd, args := args[0], args[1:]
	var err error
	switch cmd {
	case "upload":
		err = upload(ctx, c, args, stdout, stderr)
	case "list":
		err = list(ctx, c, args, stdout)
	case "get":
		err = get(ctx, c, args, stdout)
	case "delete":
		err = remove(ctx, c, args)
	default:
		return usageError(fmt.Sprintf("unknown command %q: want upload, list, get or delete", cmd))
	}
	return exitError(err)
}

func usageError(msg string) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s (run 'scribe client -h' for usage)", msg)}
}

// exitError gives err its exit status.
func exitError(err error) error {
	var ee *ExitError
	switch s := statusOf(err); {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return err
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return &ExitError{ExitAuth, err}
	case s == http.StatusNotFound:
		return &ExitError{ExitNotFound, err}
	case s >= 500 || s == http.StatusTooManyRequests:
		return &ExitError{ExitServer, err}
	case s != 0:
		return &ExitError{ExitFailed, err}
	case isNetwork(err):
		return &ExitError{ExitServer, err}
	}
	return &ExitError{ExitFailed, err}
}

// isNetwork reports whether err is a failure to reach the server.
func isNetwork(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, io.ErrUnexpectedEOF)
}

// parse parses flags wherever they stand among the arguments ("upload
// a.wav --wait b.wav") and returns the arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("scribe client "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors come back as usage errors
	return fs
}

func upload(ctx context.Context, c *Client, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("upload")
	wait := fs.Bool("wait", false, "wait for each job and write its transcript")
	format := fs.String("format", "txt", "transcript format: txt, srt, vtt or json")
	out := fs.String("o", "", "write the transcript to this file (a directory with several files)")
	files, err := parse(fs, args)
	switch {
	case err != nil:
		return usageError(err.Error())
	case len(files) == 0:
		return usageError("name one or more files to upload")
	case !*wait && *out != "":
		return usageError("-o needs --wait")
	}
	switch *format {
	case "txt", "srt", "vtt", "json":
	default:
		return usageError(fmt.Sprintf("unknown format %q: want txt, srt, vtt or json", *format))
	}
	for _, f := range files {
		if info, err := os.Stat(f); err != nil || !info.Mode().IsRegular() {
			return usageError(fmt.Sprintf("%s is not a file that can be read", f))
		}
	}
	if *out != "" && len(files) > 1 {
		if info, err := os.Stat(*out); err != nil || !info.IsDir() {
			return usageError(fmt.Sprintf("with several files, -o must name a directory; %s is not one", *out))
		}
	}
	jobs := make([]Job, 0, len(files))
	for _, f := range files {
		j, err := c.Upload(ctx, f, progressBar(stderr))
		if err != nil {
			return fmt.Errorf("upload of %s: %w", f, err)
		}
		jobs = append(jobs, j)
		if !*wait {
			fmt.Fprintln(stdout, j.ID)
		}
	}
	if !*wait {
		return nil
	}
	var failed []string
	for i, j := range jobs {
		j, err := c.Wait(ctx, j.ID)
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", files[i], err)
		}
		if j.Status == "failed" {
			msg := "failed"
			if j.Error != nil {
				msg += ": " + *j.Error
			}
			fmt.Fprintf(stderr, "scribe client: %s (job %s) %s\n", files[i], j.ID, msg)
			failed = append(failed, files[i])
			continue
		}
		if err := writeTranscript(ctx, c, j, *format, *out, len(files) > 1, stdout); err != nil {
			return fmt.Errorf("transcript of %s: %w", files[i], err)
		}
	}
	if len(failed) > 0 {
		return &ExitError{ExitFailed, fmt.Errorf("transcription failed for %s", strings.Join(failed, ", "))}
	}
	return nil
}

// writeTranscript writes j's transcript to stdout, to the file out, or
// (intoDir) into the directory out under the job's file name.
func writeTranscript(ctx context.Context, c *Client, j Job, format, out string, intoDir bool, stdout io.Writer) error {
	if out == "" {
		return c.Transcript(ctx, j.ID, format, stdout)
	}
	path := out
	if intoDir {
		base := filepath.Base(j.Filename)
		path = filepath.Join(out, strings.TrimSuffix(base, filepath.Ext(base))+"."+format)
	}
	f, err := os.Create(path)
	if err != nil {
		return &ExitError{ExitUsage, err}
	}
	err = c.Transcript(ctx, j.ID, format, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// progressBar draws each upload's progress on stderr when it is a
// terminal; nil (no progress) otherwise, so logs stay clean.
func progressBar(stderr io.Writer) func(string, int64) io.Writer {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return func(name string, size int64) io.Writer {
		return progressbar.NewOptions64(size, progressbar.OptionSetWriter(f), progressbar.OptionSetDescription(name),
			progressbar.OptionShowBytes(true), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
	}
}

func list(ctx context.Context, c *Client, args []string, stdout io.Writer) error {
	if len(args) != 0 {
		return usageError("list takes no arguments")
	}
	jobs, err := c.Jobs(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", j.ID, j.Status, j.CreatedAt.Format("2006-01-02T15:04:05Z07:00"), j.Filename)
	}
	return nil
}

func get(ctx context.Context, c *Client, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError("get takes one job id")
	}
	// The server's JSON as it is, so fields this client does not know show too.
	var raw json.RawMessage
	if err := c.getJSON(ctx, "/jobs/"+url.PathEscape(args[0]), &raw); err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := out.WriteTo(stdout)
	return err
}

func remove(ctx context.Context, c *Client, args []string) error {
	if len(args) != 1 {
		return usageError("delete takes one job id")
	}
	return c.Delete(ctx, args[0])
}
