package speech

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"sync"

	"scribe/media"
)

// DecodeError is ffmpeg failing to decode an input; Stderr is what it said.
type DecodeError struct {
	Name   string // base name of the input
	Stderr string
	Err    error // the process's exit error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("speech: could not decode %s (is it a complete audio file?): %s", e.Name, e.Stderr)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Decode starts ffmpeg converting path to 16 kHz mono s16le PCM and
// returns its output. Reads report ffmpeg's failure (a *DecodeError) in
// place of io.EOF; Close stops ffmpeg if it is still running, waits for
// it, and returns the same error. Cancelling ctx kills ffmpeg.
func Decode(ctx context.Context, path string) (io.ReadCloser, error) {
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error",
		"-protocol_whitelist", "file", "-format_whitelist", media.AllowedFormats,
		"-i", media.Input(path), "-f", "s16le", "-ac", "1", "-ar", fmt.Sprint(SampleRate), "-")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("speech: starting ffmpeg: %w", err)
	}
	d := &decoder{ctx: ctx, cmd: cmd, stdout: stdout, path: path}
	cmd.Stderr = &media.LimitedBuffer{Max: 4 << 10, Buf: &d.stderr}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("speech: starting ffmpeg: %w", err)
	}
	return d, nil
}

// decoder is the running ffmpeg behind Decode.
type decoder struct {
	ctx    context.Context
	cmd    *exec.Cmd
	stdout io.ReadCloser
	path   string
	stderr bytes.Buffer

	waitOnce sync.Once
	waitErr  error
	sawEOF   bool
}

func (d *decoder) Read(p []byte) (int, error) {
	n, err := d.stdout.Read(p)
	if errors.Is(err, io.EOF) {
		d.sawEOF = true
		if werr := d.wait(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// Close stops ffmpeg if the output was not read to the end (that is not
// an error) and reports a failed decode.
func (d *decoder) Close() error {
	if !d.sawEOF {
		// Closing our end makes a still-writing ffmpeg exit on SIGPIPE.
		d.stdout.Close()
		if d.cmd.Process != nil {
			_ = d.cmd.Process.Kill()
		}
		_ = d.wait()
		if d.ctx.Err() != nil {
			return fmt.Errorf("speech: decoding %s: %w", filepath.Base(d.path), d.ctx.Err())
		}
		return nil
	}
	return d.wait()
}

// wait reaps ffmpeg once and turns a failure into a *DecodeError.
func (d *decoder) wait() error {
	d.waitOnce.Do(func() {
		err := d.cmd.Wait()
		switch {
		case err == nil:
		case d.ctx.Err() != nil:
			d.waitErr = fmt.Errorf("speech: decoding %s: %w", filepath.Base(d.path), d.ctx.Err())
		default:
			d.waitErr = &DecodeError{
				Name:   filepath.Base(d.path),
				Stderr: media.Message(d.stderr.String(), d.path),
				Err:    err,
			}
		}
	})
	return d.waitErr
}
