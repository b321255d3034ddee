package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzStartup feeds bytes as everything a client sends (then it hangs up) into the
// per-connection handler over net.Pipe, on the TCP path with and without a local password:
// the handler must never panic and must return within the startup deadline plus slack,
// whatever the bytes. Nothing listens at the upstream address, so a startup that gets that
// far fails to connect.
func FuzzStartup(f *testing.F) {
	mint := func(_ context.Context, user string) (string, error) {
		if user == "u" {
			return "tok", nil
		}
		return "", errors.New("dsqlenv: no token for this user")
	}
	servers := make([]*Server, 2)
	for i, pw := range []string{"", "pw"} {
		s, err := New(Config{Profile: "fuzz", Upstream: Upstream{Addr: "127.0.0.1:1", ServerName: "localhost"},
			Mint: mint, Password: pw, PeerUID: -1, DialTimeout: 2 * time.Second, MintTimeout: 2 * time.Second})
		if err != nil {
			f.Fatal(err)
		}
		s.startupTimeout = 200 * time.Millisecond
		servers[i] = s
	}
	f.Cleanup(func() {
		for _, s := range servers {
			s.Close()
		}
	})

	f.Add(startupPacket(3<<16, "user", "u", "database", "d"))
	f.Add(startupPacket(3<<16, "user", "x"))
	f.Add(startupPacket(3<<16|2, "user", "u", "_pq_.foo", "bar"))
	f.Add(append([]byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}, startupPacket(3<<16, "user", "u")...))
	f.Add([]byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30})
	f.Add([]byte{0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 1, 0, 0, 0, 2})
	f.Add(startupPacket(4<<16, "user", "u"))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})
	f.Add(append(startupPacket(3<<16, "user", "u"), []byte("p\x00\x00\x00\x36SCRAM-SHA-256\x00\x00\x00\x00\x20n,,n=,r=abcdefghijklmnopqrstuvwxyzAB")...))
	f.Add(append(startupPacket(3<<16, "user", "u"), []byte("p\x00\x00\x00\x10xyz\x00\xff\xff\xff\xff")...))

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, s := range servers {
			client, server := net.Pipe()
			// The client sends everything, then hangs up; the startup deadline covers a
			// handler that still waits.
			go func() { client.Write(data); client.Close() }()
			go io.Copy(io.Discard, client)
			done := make(chan struct{})
			go func() {
				defer close(done)
				s.handle(server, false)
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("the handler did not return for % x", data[:min(len(data), 64)])
			}
			server.Close()
			client.Close()
		}
	})
}
