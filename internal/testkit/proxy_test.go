package testkit_test

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// echoServer answers every connection with what it reads, until the client stops sending.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return testkit.Serve(t, ln, func(c net.Conn) { go func() { io.Copy(c, c); c.Close() }() })
}

// TestDelayProxyDelaysEachWayAndKeepsOrder sends a first message, waits for its echo (one
// round trip: two delays), then streams many chunks and half-closes: everything must come
// back in order, followed by the end of the stream.
func TestDelayProxyDelaysEachWayAndKeepsOrder(t *testing.T) {
	const delay = 40 * time.Millisecond
	proxy := testkit.DelayProxy(t, echoServer(t), delay)
	c, err := net.Dial("tcp", proxy.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))

	start := time.Now()
	c.Write([]byte("hello"))
	got := make([]byte, 5)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	if rtt := time.Since(start); rtt < 2*delay {
		t.Errorf("round trip took %v; want at least %v (two delays)", rtt, 2*delay)
	}

	var sent bytes.Buffer
	for i := range 200 {
		chunk := bytes.Repeat([]byte{byte(i)}, 1000+i)
		sent.Write(chunk)
		c.Write(chunk)
	}
	c.(*net.TCPConn).CloseWrite()
	back, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(back, sent.Bytes()) {
		t.Errorf("streamed %d bytes, got %d back in order: %v, %v", sent.Len(), len(back), bytes.Equal(back, sent.Bytes()), err)
	}
	if first := proxy.FirstClientBytes(); len(first) != 1 || string(first[0]) != "hello" {
		t.Errorf("first client bytes: %q; want [hello]", first)
	}
}
