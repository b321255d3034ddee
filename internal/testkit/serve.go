package testkit

import (
	"net"
	"testing"
)

// Serve hands each connection ln accepts to serve, in the accepting goroutine (serve starts
// one of its own for work that takes time), until the test ends and ln is closed. It returns
// ln's address.
func Serve(tb testing.TB, ln net.Listener, serve func(net.Conn)) string {
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			serve(c)
		}
	}()
	return ln.Addr().String()
}
