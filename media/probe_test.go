package media

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ffmpeg makes a test input with Debian's ffmpeg.
func ffmpeg(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

func TestProbe(t *testing.T) {
	dir := t.TempDir()

	t.Run("Audio", func(t *testing.T) {
		path := filepath.Join(dir, "tone.mp3")
		ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:duration=2", path)
		info, err := Probe(context.Background(), path)
		if err != nil {
			t.Fatalf("Probe: %v", err)
		}
		if !info.HasAudio || info.HasVideo || info.Duration < 1.9 || info.Duration > 2.2 {
			t.Errorf("Probe = %+v, want audio only of about 2 s", info)
		}
	})

	t.Run("Text", func(t *testing.T) {
		path := filepath.Join(dir, "notes.txt")
		if err := os.WriteFile(path, []byte("just some notes, not audio\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Probe(context.Background(), path)
		if !errors.Is(err, ErrNotAudio) {
			t.Fatalf("err = %v, want ErrNotAudio", err)
		}
		if got := err.Error(); containsPath(got, dir) {
			t.Errorf("error names the server's path: %q", got)
		}
	})

	t.Run("VideoWithoutAudio", func(t *testing.T) {
		path := filepath.Join(dir, "silent.mkv")
		ffmpeg(t, "-f", "lavfi", "-i", "color=c=black:s=32x32:d=1", "-c:v", "ffv1", path)
		info, err := Probe(context.Background(), path)
		if !errors.Is(err, ErrNotAudio) || !info.HasVideo || info.HasAudio {
			t.Fatalf("Probe = %+v, %v; want video, no audio, ErrNotAudio", info, err)
		}
	})

	t.Run("PlaylistIsRefused", func(t *testing.T) {
		// An uploaded playlist must not make ffprobe read other files.
		wav := filepath.Join(dir, "tone.wav")
		ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:duration=2", wav)
		path := filepath.Join(dir, "list.m3u8")
		playlist := "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:2,\n" + wav + "\n#EXT-X-ENDLIST\n"
		if err := os.WriteFile(path, []byte(playlist), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Probe(context.Background(), path); !errors.Is(err, ErrNotAudio) {
			t.Errorf("Probe err = %v, want ErrNotAudio", err)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		_, err := Probe(context.Background(), filepath.Join(dir, "nope.wav"))
		if !errors.Is(err, ErrNotAudio) {
			t.Fatalf("err = %v, want ErrNotAudio", err)
		}
	})
}

func containsPath(s, dir string) bool { return strings.Contains(s, dir) }
