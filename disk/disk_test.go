package disk

import (
	"fmt"
	"os"
	"syscall"
	"testing"
)

func TestFree(t *testing.T) {
	free, err := Free(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if free == 0 {
		t.Fatal("no free space reported on the test's temp dir")
	}
	if _, err := Free("/no/such/dir"); err == nil {
		t.Fatal("Free of a missing directory: no error")
	}
}

func TestIsFull(t *testing.T) {
	// /dev/full answers every write with ENOSPC, as a full disk does.
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = f.Write([]byte("x"))
	if !IsFull(err) {
		t.Fatalf("IsFull(%v) = false, want true", err)
	}
	if IsFull(fmt.Errorf("wrapped: %w", syscall.EACCES)) {
		t.Fatal("IsFull(EACCES) = true")
	}
}
