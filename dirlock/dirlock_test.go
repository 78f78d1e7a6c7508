package dirlock

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

// TestSecondHolderRefused takes a directory's lock twice — in this process
// and from another process — and once more after release.
func TestSecondHolderRefused(t *testing.T) {
	if os.Getenv("DIRLOCK_CHILD") != "" {
		// The child: try the directory the parent holds.
		_, err := Acquire(os.Getenv("DIRLOCK_CHILD"))
		if errors.Is(err, ErrHeld) {
			os.Exit(3)
		}
		os.Exit(0)
	}
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(dir); !errors.Is(err, ErrHeld) {
		t.Fatalf("second Acquire in the same process: %v, want ErrHeld", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondHolderRefused$")
	cmd.Env = append(os.Environ(), "DIRLOCK_CHILD="+dir)
	var exitErr *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Fatalf("another process got the lock (%v), want it refused", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	again.Release()
}
