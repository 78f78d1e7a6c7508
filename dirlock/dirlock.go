// Package dirlock gives one process at a time a data directory: a second
// scribe started on the same directory by mistake stops with a clear
// message before it changes anything.
package dirlock

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/gofrs/flock"
)

// ErrHeld reports a directory another process holds.
var ErrHeld = errors.New("another scribe process is using this data directory")

// Lock holds a directory until Release.
type Lock struct{ f *flock.Flock }

// Acquire takes dir's lock without waiting; ErrHeld when another process
// has it. The lock is an advisory flock on dir/.lock, released by the
// kernel when the process exits, however it exits.
func Acquire(dir string) (*Lock, error) {
	f := flock.New(filepath.Join(dir, ".lock"))
	ok, err := f.TryLock()
	if err != nil {
		return nil, fmt.Errorf("dirlock: unable to lock %s: %w", dir, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w (%s); stop it first, or give this one its own data directory", ErrHeld, dir)
	}
	return &Lock{f: f}, nil
}

// Release gives the directory up.
func (l *Lock) Release() error { return l.f.Unlock() }
