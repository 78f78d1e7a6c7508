package engine

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"scribe/deepscript"
)

// The contract's duration is "seconds of audio, once known, else null": a
// file whose container does not announce its length (a webm streamed by
// MediaRecorder) is submitted with duration null, not 0, and gets the
// decoded length when it completes.
func TestDurationNullUntilKnown(t *testing.T) {
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", clips.short, "-c:a", "libopus", "-f", "webm", "pipe:1")
	streamed, err := cmd.Output()
	if err != nil {
		t.Fatalf("making a streamed webm: %v", err)
	}
	path := filepath.Join(t.TempDir(), "streamed.webm")
	if err := os.WriteFile(path, streamed, 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEngine(t, nil)
	status, body := e.submit(path, nil, nil)
	if status != http.StatusCreated {
		t.Fatalf("submit: %d %s", status, body)
	}
	if !bytes.Contains(body, []byte(`"duration":null`)) {
		t.Errorf("submit answer %s: want \"duration\":null for an unannounced length", body)
	}
	tr := decode[deepscript.Transcription](t, body)
	done := e.waitStatus(tr.ID, deepscript.StatusCompleted, 10*time.Second)
	if done.Duration == nil || *done.Duration < 1 {
		t.Errorf("completed duration %v, want the decoded length", done.Duration)
	}
}
