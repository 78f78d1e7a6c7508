// Package disk tells how much room a file system has left and whether an
// error means it ran out, so uploads can stop with a clear answer before
// and while the disk fills.
package disk

import (
	"errors"
	"fmt"
	"syscall"
)

// Free is the number of bytes an unprivileged process may still write on
// the file system holding path.
func Free(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("disk: unable to read free space of %s: %w", path, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// IsFull reports whether err means the file system (or the user's quota)
// has no room left.
func IsFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
