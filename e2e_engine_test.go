package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEmbeddedEngineEndToEnd uploads real speech to the app running its
// own engine and checks the transcript holds the spoken words.
func TestEmbeddedEngineEndToEnd(t *testing.T) {
	app := startApp(t, map[string]string{"SCRIBE_ENGINE_WORKERS": "1"})
	alice := newUser(t, app, "alice@example.com")
	dir := t.TempDir()
	wav := speechFile(t, dir, "slt", "Hello from scribe. The meeting starts at nine thirty on Tuesday.")
	mp3 := filepath.Join(dir, "meeting.mp3")
	if out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", wav, mp3).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	id := uploadFile(t, alice, app, mp3)
	j := waitFinal(t, alice, app, id, 90*time.Second)
	if j.Status != "completed" || j.CompletedVia == nil {
		t.Fatalf("job ended %+v", j)
	}

	text, ct, status := download(t, alice, app.URL+"/jobs/"+id+"/transcript.txt")
	if status != 200 || !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("txt: %d %s", status, ct)
	}
	for _, w := range []string{"meeting", "nine", "thirty", "tuesday"} {
		if !strings.Contains(strings.ToLower(text), w) {
			t.Errorf("transcript %q lacks %q", text, w)
		}
	}
	for ext, want := range map[string]string{"srt": "-->", "vtt": "WEBVTT", "json": `"segments"`} {
		body, _, status := download(t, alice, app.URL+"/jobs/"+id+"/transcript."+ext)
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: status %d, body lacks %q: %.200s", ext, status, want, body)
		}
	}

}

// speechFile writes text spoken by flite's voice to a WAV in dir.
func speechFile(t *testing.T, dir, voice, text string) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "speech-*.wav")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if out, err := exec.Command("flite", "-voice", voice, "-t", text, "-o", f.Name()).CombinedOutput(); err != nil {
		t.Fatalf("flite: %v: %s", err, out)
	}
	return f.Name()
}
