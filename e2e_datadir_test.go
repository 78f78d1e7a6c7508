package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSecondInstanceRefused starts scribe twice on one data directory: the
// second stops at once with a clear message and changes nothing, while
// the first keeps serving. An upload file left by a crash is swept at the
// next start.
func TestSecondInstanceRefused(t *testing.T) {
	dir := t.TempDir()
	orphan := filepath.Join(dir, "uploads", "j_cut.audio")
	if err := os.MkdirAll(filepath.Dir(orphan), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(orphan, []byte("half an upload"), 0o600); err != nil {
		t.Fatal(err)
	}
	first := startApp(t, map[string]string{"SCRIBE_DATA_DIR": dir})
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("the orphaned upload survived the start (%v)", err)
	}
	before, err := os.Stat(filepath.Join(dir, "scribe.db"))
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env := map[string]string{"SCRIBE_ADDR": "127.0.0.1:0", "SCRIBE_DATA_DIR": dir}
	err = run(ctx, nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "another scribe process is using this data directory") {
		t.Fatalf("second instance: %v, want the data directory refused", err)
	}
	after, err := os.Stat(filepath.Join(dir, "scribe.db"))
	if err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the second instance touched the database (%v)", err)
	}
	if resp, err := newUser(t, first, "ada@example.com").Get(first.URL + "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the first instance stopped serving: %v %v", resp, err)
	}
}
