package proxy

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ListenUnix listens on a Unix socket at path, with mode 0600, inside an existing directory
// that is the caller's and only the caller can enter (mode 0700). A stale socket file at path is replaced; any
// other file there is an error. Closing the listener removes the socket file.
func ListenUnix(path string) (*net.UnixListener, error) {
	if runtime.GOOS == "windows" {
		return nil, fmt.Errorf("dsqlenv proxy: Unix sockets are not offered on Windows; listen on a loopback TCP port")
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("dsqlenv proxy: socket directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("dsqlenv proxy: socket directory %s is not a directory", dir)
	}
	if uid, ok := fileOwner(fi); ok && uid != os.Geteuid() {
		return nil, fmt.Errorf("dsqlenv proxy: socket directory %s belongs to UID %d, not to you (UID %d)", dir, uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("dsqlenv proxy: socket directory %s has mode %04o; it must be 0700 so that only you can reach the socket", dir, fi.Mode().Perm())
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("dsqlenv proxy: %s exists and is not a socket", path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("dsqlenv proxy: %s is in use by another proxy", path)
		}
		os.Remove(path)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("dsqlenv proxy: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("dsqlenv proxy: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	return ln, nil
}

// IsLoopback reports whether addr (host:port, or a bare host) names only the loopback
// interface: a loopback IP, or localhost.
func IsLoopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i]
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
