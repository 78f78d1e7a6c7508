// Package media inspects untrusted media files with ffprobe and holds the
// ffmpeg invocation rules both the app and the engine follow. It needs no
// cgo, so the web layer builds without the recogniser's C libraries.
package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNotAudio means a file has no audio stream or is not a media file
// ffmpeg can read. Errors from Probe wrap it with the reason.
var ErrNotAudio = errors.New("media: not an audio file")

// Info is what Probe learns about a media file.
type Info struct {
	HasAudio bool
	HasVideo bool
	// Duration is the container's duration in seconds, approximate (mp3
	// may be off by ~0.1 s); 0 when unknown. Count decoded samples for
	// the exact figure.
	Duration float64
}

// Probe inspects path with ffprobe. A file that ffprobe cannot read or
// that has no audio stream gives an error wrapping ErrNotAudio.
func Probe(ctx context.Context, path string) (Info, error) {
	cmd := exec.CommandContext(ctx, "ffprobe", "-v", "error",
		"-protocol_whitelist", "file", "-format_whitelist", AllowedFormats,
		"-show_entries", "format=duration:stream=codec_type", "-of", "json", Input(path))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &LimitedBuffer{Max: 4 << 10, Buf: &stderr}
	name := filepath.Base(path)
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Info{}, fmt.Errorf("media: probing %s: %w", name, ctx.Err())
		}
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return Info{}, fmt.Errorf("media: running ffprobe: %w", err)
		}
		return Info{}, fmt.Errorf("%w: %s cannot be read as audio or video (%s)", ErrNotAudio, name, Message(stderr.String(), path))
	}
	var out struct {
		Streams []struct {
			CodecType string `json:"codec_type"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return Info{}, fmt.Errorf("media: reading ffprobe output for %s: %w", name, err)
	}
	var info Info
	for _, s := range out.Streams {
		switch s.CodecType {
		case "audio":
			info.HasAudio = true
		case "video":
			info.HasVideo = true
		}
	}
	if d, err := strconv.ParseFloat(out.Format.Duration, 64); err == nil && d > 0 {
		info.Duration = d
	}
	if !info.HasAudio {
		return info, fmt.Errorf("%w: %s has no audio stream", ErrNotAudio, name)
	}
	return info, nil
}

// AllowedFormats are the demuxers ffmpeg may use on an input. Uploads are
// untrusted: a playlist (hls), concat script or similar would make ffmpeg
// open other files or URLs named inside it. Names follow ffmpeg's demuxer
// list ("mov" covers mp4/m4a/3gp, "matroska" covers webm).
const AllowedFormats = "wav,w64,mp3,ogg,flac,mov,matroska,aac,aiff,amr,asf,avi,caf,au,wv,ape,mpeg,mpegts,flv,ac3,eac3,dts"

// Input names path for ffmpeg so that it is always read as a local
// file, even when it looks like a URL or protocol ("http:…", "concat:…").
func Input(path string) string { return "file:" + path }

// Message makes ffmpeg's stderr readable: one line, without the
// full path of the input (which may be a server's temp dir).
func Message(stderr, path string) string {
	msg := strings.TrimSpace(stderr)
	msg = strings.ReplaceAll(msg, Input(path)+": ", "")
	msg = strings.ReplaceAll(msg, path+": ", "")
	msg = strings.ReplaceAll(msg, path, filepath.Base(path))
	msg = strings.Join(strings.Fields(msg), " ")
	if msg == "" {
		return "no details from ffmpeg"
	}
	return msg
}

// LimitedBuffer keeps the first max bytes written to it and discards the
// rest, so a chatty ffmpeg cannot grow memory.
type LimitedBuffer struct {
	Max int
	Buf *bytes.Buffer
}

func (l *LimitedBuffer) Write(p []byte) (int, error) {
	if room := l.Max - l.Buf.Len(); room > 0 {
		l.Buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
