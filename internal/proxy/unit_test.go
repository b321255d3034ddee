package proxy

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:5432": true, "[::1]:5432": true, "localhost:5432": true, "::1": true, "[::ffff:127.0.0.1]:1": true,
		// The rest of 127/8 is not where the password-file lines (localhost, 127.0.0.1, ::1) point.
		"127.1.2.3:1": false, "127.0.0.2:5432": false, "[::ffff:127.0.0.2]:1": false,
		"0.0.0.0:5432": false, ":5432": false, "[::]:5432": false, "192.168.1.2:5432": false,
		"example.com:5432": false, "": false, "10.0.0.1": false, "[fe80::1%lo]:1": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v; want %v", addr, got, want)
		}
	}
}

func TestListenUnix(t *testing.T) {
	testkit.UnixOnly(t, "dsqlenv offers Unix sockets only on Unix (TestListenUnixRefusedOnWindows)")
	dir, err := os.MkdirTemp("", "dsqlenv-ln-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, ".s.PGSQL.5432")

	os.Chmod(dir, 0o755)
	if _, err := ListenUnix(path); err == nil || !strings.Contains(err.Error(), "0700") {
		t.Errorf("a socket in a 0755 directory: %v", err)
	}
	os.Chmod(dir, 0o700)
	if os.Geteuid() == 0 { // a directory of another user's
		os.Chown(dir, 65534, 65534)
		if _, err := ListenUnix(path); err == nil || !strings.Contains(err.Error(), "belongs to UID 65534") {
			t.Errorf("a socket in another user's directory: %v", err)
		}
		os.Chown(dir, 0, 0)
	}
	if _, err := ListenUnix(filepath.Join(dir, "missing", "s")); err == nil {
		t.Error("a socket in a missing directory")
	}

	ln, err := ListenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("socket file: %v, %v", fi.Mode(), err)
	}
	if _, err := ListenUnix(path); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("a second proxy on a live socket: %v", err)
	}
	ln.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket file after Close: %v", err)
	}

	// A stale socket (its proxy died) is replaced; a regular file is not touched.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	ln, err = ListenUnix(path)
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	ln.Close()
	os.WriteFile(path, []byte("x"), 0o600)
	if _, err := ListenUnix(path); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("over a regular file: %v", err)
	}
}

// TestListenTCP: a loopback address of either family, or localhost, holds the same port in
// both families, so no other user can take the one a client tries first.
func TestListenTCP(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0", "LocalHost:0"} {
		lns, err := ListenTCP(addr)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if len(lns) != 2 {
			t.Fatalf("%s: %d listeners, want one per loopback family", addr, len(lns))
		}
		a, b := lns[0].Addr().(*net.TCPAddr), lns[1].Addr().(*net.TCPAddr)
		if a.Port != b.Port || (a.IP.To4() == nil) == (b.IP.To4() == nil) || !a.IP.IsLoopback() || !b.IP.IsLoopback() {
			t.Errorf("%s: listening on %s and %s", addr, a, b)
		}
		for _, ln := range lns {
			if other, err := net.Listen("tcp", ln.Addr().String()); err == nil {
				other.Close()
				t.Errorf("%s: another listener took %s beside the proxy", addr, ln.Addr())
			}
			ln.Close()
		}
	}
	if _, err := ListenTCP("0.0.0.0:0"); err == nil {
		t.Error("ListenTCP took a wildcard address")
	}
}

// fakeListener claims a non-loopback address.
type fakeListener struct{ net.Listener }

func (fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5432} }

func TestServeRefusesNonLoopback(t *testing.T) {
	s, err := New(Config{Upstream: Upstream{Addr: "127.0.0.1:1"}, Mint: testMint, PeerUID: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := s.Serve(fakeListener{ln}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("Serve on 192.0.2.1: %v", err)
	}
}

func TestNewChecksConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Upstream: Upstream{Addr: "127.0.0.1:1"}},
		{Mint: testMint},
		{Mint: testMint, Upstream: Upstream{Addr: "no-port"}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) took it", cfg)
		}
	}
}

func TestTokenBucketPaces(t *testing.T) {
	b := newTokenBucket(10, 2)
	ctx := context.Background()
	start := time.Now()
	for range 7 { // 2 at once, then 5 at 10/s
		if err := b.wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 450*time.Millisecond {
		t.Errorf("7 tokens at 10/s with a burst of 2 took %v; want at least 0.5 s", took)
	}

	slow := newTokenBucket(0.001, 1)
	slow.wait(ctx)
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	if err := slow.wait(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting past the context: %v", err)
	}
}

func TestKeyMap(t *testing.T) {
	k := newKeyMap()
	up := upstreamKey{addr: "127.0.0.1:5432", pid: 42, secret: []byte{1, 2, 3, 4}}
	pid, secret := k.add(up)
	if pid == 42 || pid == 0 || int32(pid) < 0 {
		t.Errorf("client pid %d", pid)
	}
	if got, ok := k.lookup(pid, secret[:]); !ok || got.pid != 42 {
		t.Errorf("lookup: %v %v", got, ok)
	}
	bad := secret
	bad[0] ^= 1
	if _, ok := k.lookup(pid, bad[:]); ok {
		t.Error("a wrong secret matched")
	}
	if _, ok := k.lookup(pid, append(secret[:], 0)); ok {
		t.Error("a longer secret matched")
	}
	if _, ok := k.lookup(42, []byte{1, 2, 3, 4}); ok {
		t.Error("the upstream's own key matched")
	}
	k.remove(pid)
	if _, ok := k.lookup(pid, secret[:]); ok {
		t.Error("a removed key matched")
	}
}
