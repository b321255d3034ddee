//go:build windows

package pgfile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
)

// tryLock makes one attempt at the lock for dir: LockFileEx, without blocking, on a lock file
// in locks (dsqlenv's directory under %LOCALAPPDATA%, which only the user can open by its
// inherited ACL), named after a hash of dir's absolute path without case, as Windows compares
// paths. A directory cannot be opened for LockFileEx, and a lock file beside the target could
// be opened by anyone the target's directory lets in. release is nil when another run holds
// the lock. release unlocks before closing (Windows frees the locks of a closed handle only
// when it gets to it: LockFileEx's documentation), then removes the file, which fails, and
// is left, while another run has it open.
func tryLock(locks, dir string) (path string, release func(), err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256([]byte(strings.ToLower(abs)))
	path = filepath.Join(locks, hex.EncodeToString(sum[:8])+".lock")
	if err := os.MkdirAll(locks, 0o700); err != nil {
		return "", nil, fmt.Errorf("cannot make the lock directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	switch {
	case errors.Is(err, windows.ERROR_SHARING_VIOLATION): // a run letting go is removing it
		return path, nil, nil
	case err != nil:
		return "", nil, err
	}
	h := windows.Handle(f.Fd())
	err = windows.LockFileEx(h, windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, new(windows.Overlapped))
	switch {
	case err == windows.ERROR_LOCK_VIOLATION:
		f.Close()
		return path, nil, nil
	case err != nil:
		f.Close()
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	return path, func() {
		windows.UnlockFileEx(h, 0, 1, 0, new(windows.Overlapped))
		f.Close()
		os.Remove(path)
	}, nil
}

func findHolder(path string) string {
	return "find it in Resource Monitor (CPU, Associated Handles: search for " + filepath.Base(path) + ")"
}

// followable is Unix's check on another user's link in a sticky shared directory
// (sys_unix.go); Windows has no sticky directories, and only an administrator (or a user
// granted the right) can make symbolic links.
func followable(path, link string, st os.FileInfo) error { return nil }
