//go:build unix

package pgfile

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// openRead opens an existing file for reading without blocking: opening a FIFO for reading
// waits for a writer unless O_NONBLOCK is given (open(2)), and the file is checked to be a
// regular file only once it is open.
const openRead = os.O_RDONLY | syscall.O_NONBLOCK

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

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// reraise ends the process by the signal it received, as it would have ended without a
// handler: the shell then reports 128+n (130 for SIGINT, 143 for SIGTERM) and a script that
// ran dsqlenv stops on SIGINT as it should ("wait and cooperative exit",
// https://www.cons.org/cracauer/sigint.html). signal.Reset hands the signal back to the Go
// runtime, which dies from an unhandled SIGINT/SIGTERM/SIGHUP with the signal itself. The
// exit is only a fallback should the signal somehow not be delivered.
func reraise(s os.Signal) {
	signal.Reset(s)
	n, ok := s.(syscall.Signal)
	if !ok {
		os.Exit(1)
	}
	syscall.Kill(syscall.Getpid(), n)
	time.Sleep(time.Second)
	os.Exit(128 + int(n))
}
