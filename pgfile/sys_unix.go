//go:build unix

package pgfile

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockDir takes an exclusive flock on the directory itself: the file is replaced by rename,
// so a lock on the file would be on an inode that is gone, and a lock file would litter the
// user's home directory.
func lockDir(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	// Without blocking, retried until LockWait: a directory anyone can read (a home at 0755)
	// can be locked by anyone, and a cron job must not wait for ever on another user.
	deadline := time.Now().Add(LockWait)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			break
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("another process has held the lock on the directory for over %s (flock); find it with: fuser -v %s", LockWait, dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
