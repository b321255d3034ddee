//go:build unix

package proxy

import (
	"errors"
	"net"
	"syscall"
)

// ended says why the server has ended an idle connection, or "" while it has not: a peek
// that does not wait (MSG_PEEK|MSG_DONTWAIT) sees data or the end of the stream the kernel
// already holds, and takes nothing from it.
func ended(c net.Conn) string {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return ""
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err.Error()
	}
	var (
		n    int
		perr error
	)
	if err := rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, perr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	}); err != nil {
		return err.Error()
	}
	switch {
	case errors.Is(perr, syscall.EAGAIN) || errors.Is(perr, syscall.EWOULDBLOCK):
		return ""
	case perr != nil:
		return perr.Error()
	case n > 0:
		return "the server sent a message to an idle session (it ended it)"
	default:
		return "the server closed it"
	}
}
