package cli

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// systemd's two conventions for a service, written out here in a few lines rather than
// taken from a library: readiness and stopping (sd_notify(3)) and socket activation
// (sd_listen_fds(3)).

// sdNotify sends state ("READY=1", "STOPPING=1") to the service manager when it gave a
// socket (NOTIFY_SOCKET: a path, or an abstract name starting with @, which Go passes as a
// leading NUL). Without NOTIFY_SOCKET it does nothing.
func sdNotify(socket, state string) error {
	if socket == "" {
		return nil
	}
	if !strings.HasPrefix(socket, "/") && !strings.HasPrefix(socket, "@") {
		return fmt.Errorf("NOTIFY_SOCKET %q is neither a path nor an abstract socket name (@NAME)", socket)
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("telling systemd %s through NOTIFY_SOCKET %s: %v", state, socket, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("telling systemd %s through NOTIFY_SOCKET %s: %v", state, socket, err)
	}
	return nil
}

// listenFDsStart is the first descriptor systemd passes (SD_LISTEN_FDS_START).
const listenFDsStart = 3

// passedListeners are the listening sockets systemd passed (LISTEN_FDS, from descriptor 3 on,
// named by LISTEN_FDNAMES), when LISTEN_PID is this process: a variable left over from a
// parent that systemd started is not ours. The variables are taken out of the environment
// either way, so that a process the proxy starts (a credential_process) does not take them
// for its own. It returns the listeners by their names ("" when unnamed).
func (r *run) passedListeners() (lns []net.Listener, names []string, err error) {
	pid, fds, fdNames := r.Getenv("LISTEN_PID"), r.Getenv("LISTEN_FDS"), r.Getenv("LISTEN_FDNAMES")
	for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		os.Unsetenv(v)
	}
	if fds == "" || pid != strconv.Itoa(os.Getpid()) {
		return nil, nil, nil
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 1 {
		return nil, nil, fmt.Errorf("proxy: LISTEN_FDS=%s from the service manager is not a count of descriptors", fds)
	}
	var given []string
	if fdNames != "" {
		given = strings.Split(fdNames, ":")
	}
	for i := range n {
		name := ""
		if i < len(given) {
			name = given[i]
		}
		fd := listenFDsStart + i
		f := os.NewFile(uintptr(fd), "LISTEN_FDS "+strconv.Itoa(fd))
		ln, err := net.FileListener(f) // a duplicate, close-on-exec
		f.Close()
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, nil, fmt.Errorf("proxy: descriptor %d (%q) from the service manager is not a listening socket: in the .socket unit, use ListenStream= (%v)", fd, name, err)
		}
		lns = append(lns, ln)
		names = append(names, name)
	}
	return lns, names, nil
}

// listenersByProfile gives each profile its passed listeners: all of them for a single
// profile, else by name (FileDescriptorName=PROFILE in the .socket unit).
func listenersByProfile(lns []net.Listener, names, profiles []string) (map[string][]net.Listener, error) {
	out := map[string][]net.Listener{}
	for i, ln := range lns {
		p := names[i]
		if len(profiles) == 1 {
			p = profiles[0]
		}
		known := false
		for _, n := range profiles {
			known = known || n == p
		}
		if !known {
			return nil, fmt.Errorf("proxy: the service manager passed %s named %q, which is not a profile served here (%s): with several profiles, give each socket FileDescriptorName=PROFILE", ln.Addr(), p, strings.Join(profiles, ", "))
		}
		out[p] = append(out[p], ln)
	}
	for _, p := range profiles {
		if len(out[p]) == 0 {
			return nil, fmt.Errorf("proxy: the service manager passed no socket for profile %s: give one FileDescriptorName=%s", p, p)
		}
	}
	return out, nil
}
