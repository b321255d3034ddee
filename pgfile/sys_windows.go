//go:build windows

package pgfile

import (
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/windows"
)

// openRead: Windows has no FIFOs to block on; devices are refused by the Lstat check before.
const openRead = os.O_RDONLY

// lockDir on Windows locks a lock file beside the target with LockFileEx: directories cannot
// be opened for locking there.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".dsqlenv.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	ol := new(windows.Overlapped)
	if err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, ol); err != nil {
		f.Close()
		return nil, err
	}
	return func() { windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, ol); f.Close() }, nil
}

// syncDir is not possible on Windows; MoveFileEx is already durable enough there.
func syncDir(string) {}

// reraise: a Windows process cannot send itself a signal, so it exits with the status a
// POSIX shell would report for one (128+n: 130 for Ctrl+C).
func reraise(s os.Signal) {
	n := 2
	if sig, ok := s.(syscall.Signal); ok {
		n = int(sig)
	}
	os.Exit(128 + n)
}
