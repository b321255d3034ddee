//go:build !unix

package proxy

import (
	"errors"
	"net"
	"os"
	"time"
)

// ended says why the server has ended an idle connection, or "" while it has not: a read
// that waits a millisecond sees data or the end of the stream already received. It takes a
// byte only from a connection that is closed anyway.
func ended(c net.Conn) string {
	c.SetReadDeadline(time.Now().Add(time.Millisecond))
	defer c.SetReadDeadline(time.Time{})
	var b [1]byte
	n, err := c.Read(b[:])
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ""
	case n > 0:
		return "the server sent a message to an idle session (it ended it)"
	case err != nil:
		return "the server closed it: " + err.Error()
	}
	return "the server closed it"
}
