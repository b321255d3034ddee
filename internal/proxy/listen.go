package proxy

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/dsqlenv/dsqlenv/internal/safefile"
)

// ListenTCP listens on a loopback address (127.0.0.1:PORT, [::1]:PORT, localhost:PORT) and
// holds the same port of the other loopback family too, serving both. Otherwise another local
// user could take [::1]:PORT beside 127.0.0.1:PORT: where localhost resolves to ::1 first
// (Debian, Ubuntu), libpq, pgAdmin and Go try ::1 first and would answer that user's
// cleartext password request with the saved local password, or with PGPASSWORD, a live
// token. When the other family's port is taken, ListenTCP refuses to start; when the
// machine has no loopback of the other family at all, there is nothing to hold. Port 0 picks
// a port free in both families.
func ListenTCP(addr string) ([]net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || !IsLoopback(addr) {
		return nil, fmt.Errorf("dsqlenv proxy: %s is not a loopback HOST:PORT", addr)
	}
	if strings.EqualFold(host, "localhost") {
		host = "127.0.0.1"
	}
	other := "127.0.0.1"
	if ip := net.ParseIP(host); ip != nil && ip.To4() != nil {
		other = "::1"
	}
	// A loopback the machine lacks (IPv6 turned off) refuses even a free port.
	probe, err := net.Listen("tcp", net.JoinHostPort(other, "0"))
	if err != nil {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, fmt.Errorf("dsqlenv proxy: %w", err)
		}
		return []net.Listener{ln}, nil
	}
	probe.Close()
	for tries := 0; ; tries++ {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, fmt.Errorf("dsqlenv proxy: %w", err)
		}
		otherAddr := net.JoinHostPort(other, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		ln2, err := net.Listen("tcp", otherAddr)
		if err == nil {
			return []net.Listener{ln, ln2}, nil
		}
		ln.Close()
		if port == "0" && tries < 10 {
			continue // a port free in one family only: pick another
		}
		return nil, fmt.Errorf("dsqlenv proxy: %s is taken (%v), perhaps by another user: clients that resolve localhost to %s first (libpq, pgAdmin and Go, where the system lists it first, as Debian and Ubuntu do ::1) would give that program the password they hold for this port; free that port or choose another one", otherAddr, errors.Unwrap(err), other)
	}
}

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

// PrivateDir makes dir with mode 0700 when it is missing, then checks, without following a
// link, that it is a directory of the caller's own that nobody else may enter. In a folder
// every user can write, such as /tmp, another user may have made dir first (or put a link
// there), and could then swap the socket folder inside it. A dir that fails the check is
// refused, not repaired: what another user could reach may already hold their files. fix
// ends the error: what the user can do.
func PrivateDir(dir, fix string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("dsqlenv proxy: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("dsqlenv proxy: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("dsqlenv proxy: %s is not a directory but %s, perhaps made by another user: %s", dir, safefile.Kind(fi.Mode()), fix)
	}
	if uid, ok := fileOwner(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("dsqlenv proxy: %s belongs to UID %d, not to you (UID %d): another user made it first; %s", dir, uid, os.Geteuid(), fix)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("dsqlenv proxy: %s has mode %04o, so others may have changed what is in it: it must be 0700; %s", dir, fi.Mode().Perm(), fix)
	}
	return nil
}

// IsLoopback reports whether addr (host:port, or a bare host) names one of the addresses
// clients reach the proxy by: 127.0.0.1, ::1 (or ::ffff:127.0.0.1, the same address) or
// localhost. Not the rest of 127/8: the proxy's password-file lines are for localhost,
// 127.0.0.1 and ::1 on its port, so listening on 127.0.0.2 would leave 127.0.0.1:PORT free
// for another local user, who would then be sent the saved password by libpq.
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
	return ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback)
}
