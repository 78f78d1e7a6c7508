package speech

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scribe/media"
)

// decodeAll decodes path and returns the number of samples and the error
// from reading or closing.
func decodeAll(t *testing.T, path string) (int64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rc, err := Decode(ctx, path)
	if err != nil {
		return 0, err
	}
	n, readErr := io.Copy(io.Discard, rc)
	closeErr := rc.Close()
	if readErr != nil && closeErr == nil {
		t.Errorf("Read failed with %v but Close returned nil", readErr)
	}
	return n / 2, errors.Join(readErr, closeErr)
}

func TestDecodeFormats(t *testing.T) {
	wav := speak(t, corpus[0].Name, corpus[0].Voice, corpus[0].Text)
	want, err := decodeAll(t, wav)
	if err != nil {
		t.Fatalf("decoding wav: %v", err)
	}
	// 44.1 kHz stereo exercises resampling and downmixing too.
	for _, c := range []struct{ ext, codec string }{{"mp3", "libmp3lame"}, {"ogg", "libvorbis"}, {"m4a", "aac"}, {"flac", "flac"}} {
		t.Run(c.ext, func(t *testing.T) {
			out := filepath.Join(testDir, "formats."+c.ext)
			run(t, "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", wav, "-ac", "2", "-ar", "44100", "-c:a", c.codec, out)
			got, err := decodeAll(t, out)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := math.Abs(float64(got-want)) / SampleRate; diff > 0.030 {
				t.Errorf("decoded %d samples, wav has %d: %.3f s apart, want ≤ 0.030", got, want, diff)
			}
			info, err := media.Probe(context.Background(), out)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if !info.HasAudio || math.Abs(info.Duration-float64(want)/SampleRate) > 0.15 {
				t.Errorf("Probe = %+v, want audio of about %.2f s", info, float64(want)/SampleRate)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	wav := speak(t, corpus[0].Name, corpus[0].Voice, corpus[0].Text)

	t.Run("TruncatedM4A", func(t *testing.T) {
		m4a := filepath.Join(testDir, "whole.m4a")
		run(t, "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", wav, "-c:a", "aac", m4a)
		cut := truncated(t, m4a, 3000)
		_, err := decodeAll(t, cut)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("err = %v, want a *DecodeError", err)
		}
		if !strings.Contains(err.Error(), "truncated.m4a") || strings.Contains(err.Error(), testDir) {
			t.Errorf("error %q should name the file without its directory", err)
		}
	})

	t.Run("TruncatedWAVDecodesWhatIsThere", func(t *testing.T) {
		n, err := decodeAll(t, truncated(t, wav, 20000))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if n == 0 || n > 10000 {
			t.Errorf("decoded %d samples from 20000 bytes", n)
		}
	})

	t.Run("TruncatedThroughRecognizer", func(t *testing.T) {
		ogg := filepath.Join(testDir, "whole.ogg")
		run(t, "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", wav, "-c:a", "libvorbis", ogg)
		pcm, err := Decode(context.Background(), truncated(t, ogg, 3000))
		if err != nil {
			t.Fatal(err)
		}
		defer pcm.Close()
		_, err = sharedPocketsphinx(t).Recognize(context.Background(), pcm, nil)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("Recognize err = %v, want the *DecodeError", err)
		}
		t.Logf("error a person reads: %v", err)
	})

	t.Run("CloseEarlyIsNotAnError", func(t *testing.T) {
		rc, err := Decode(context.Background(), wav)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rc.Read(make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		if err := rc.Close(); err != nil {
			t.Errorf("Close = %v, want nil", err)
		}
	})

	t.Run("Cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		rc, err := Decode(ctx, wav)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		_, _ = io.Copy(io.Discard, rc)
		if err := rc.Close(); !errors.Is(err, context.Canceled) {
			t.Errorf("Close = %v, want context.Canceled", err)
		}
	})
}

func TestDecodeRefusesPlaylist(t *testing.T) {
	// An uploaded playlist must not make ffmpeg read other files.
	wav := speak(t, corpus[0].Name, corpus[0].Voice, corpus[0].Text)
	path := filepath.Join(testDir, "list.m3u8")
	playlist := "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:8,\n" + wav + "\n#EXT-X-ENDLIST\n"
	if err := os.WriteFile(path, []byte(playlist), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := decodeAll(t, path)
	var de *DecodeError
	if !errors.As(err, &de) || n != 0 {
		t.Errorf("Decode read %d samples, err %v; want none and a *DecodeError", n, err)
	}
}

// truncated writes the first n bytes of path to a new file.
func truncated(t *testing.T, path string, n int) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(testDir, "truncated"+filepath.Ext(path))
	if err := os.WriteFile(out, data[:min(n, len(data))], 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
