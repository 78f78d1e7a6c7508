package bench

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// measureUpload uploads one large file and compares the rate with cat
// writing the same file to the same disk.
func measureUpload(t *testing.T) []row {
	const email = "upload@example.com"
	minutes := size(4, 40) // 48 kHz stereo WAV: about 11 MB a minute
	in := newInstall(t, email)
	p := in.start(t, map[string]string{"SCRIBE_MAX_FILE_DURATION": "10h"})
	c := userClient(t, p.URL, email, false)
	src := filepath.Join(t.TempDir(), "long.wav")
	out, err := exec.Command("ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
		fmt.Sprintf("sine=frequency=300:duration=%d", minutes*60), "-ar", "48000", "-ac", "2", src).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	fi, _ := os.Stat(src)
	mb := float64(fi.Size()) / 1e6

	start := time.Now()
	cat := exec.Command("sh", "-c", `cat "$0" > "$1" && sync "$1"`, src, filepath.Join(in.dir, "cat-copy.wav"))
	if out, err := cat.CombinedOutput(); err != nil {
		t.Fatalf("cat: %v\n%s", err, out)
	}
	catRate := mb / time.Since(start).Seconds()

	start = time.Now()
	if err := upload(c, p.URL, "long.wav", src); err != nil {
		t.Fatal(err)
	}
	upRate := mb / time.Since(start).Seconds()
	return []row{{Measure: fmt.Sprintf("upload of a %.0f MB WAV", mb), Scribe: fmt.Sprintf("%.0f MB/s", upRate),
		Baseline: fmt.Sprintf("%.0f MB/s (cat to disk)", catRate), Ratio: ratio(upRate, catRate), Target: "–"}}
}

// discard reads and closes a response body.
func discard(resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(io.Discard, resp.Body)
}
