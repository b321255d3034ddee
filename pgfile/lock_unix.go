//go:build unix

package pgfile

import (
	"os"
	"syscall"
)

// lockDir takes an exclusive flock on the directory itself: the file is replaced by rename,
// so a lock on the file would be on an inode that is gone, and a lock file would litter the
// user's home directory.
func lockDir(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
