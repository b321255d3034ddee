//go:build unix

package cli

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// TestProxyCheckLogsInAtStart: --check logs in to the double once per profile before serving;
// failing credentials, a role the cluster does not know and a cluster that is down each end
// the start with status 1 and the fix, before any client comes.
func TestProxyCheckLogsInAtStart(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18})
	pg.SQL(t, "CREATE ROLE admin LOGIN")
	d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{Host: "localhost"})
	dir := t.TempDir()
	awsCfg := writeFile(t, dir, "aws-config", "[profile broken]\ncredential_process = sh -c 'echo the SSO session has expired >&2; exit 3'\n")
	closed := testkit.FreePort(t)
	cfg := writeFile(t, dir, "p.yaml", fmt.Sprintf(`defaults:
  region: us-east-1
  sslrootcert: %[2]s
  port: %[1]d
profiles:
  p:
    endpoint: localhost
  q:
    endpoint: localhost
  nocreds:
    endpoint: localhost
    aws_profile: broken
  ghost:
    endpoint: localhost
    user: ghost
  down:
    endpoint: localhost
    port: %[3]d
`, d.Port, d.CAFile, closed))
	env := awsEnv(t, true, "XDG_RUNTIME_DIR="+t.TempDir(), "DSQLENV_CONFIG="+cfg, "AWS_CONFIG_FILE="+awsCfg)

	p := startProxy(t, env, 4, "--check", "p", "q")
	if st := d.Stats(); st.Accepted != 2 {
		t.Errorf("--check opened %d sessions at the double, want one per profile (2): %+v", st.Accepted, st)
	}
	for _, profile := range []string{"p", "q"} {
		if !strings.Contains(p.log(), "proxy "+profile+": --check: logged in to the cluster as admin") {
			t.Errorf("no --check line for %s:\n%s", profile, p.log())
		}
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}

	for _, tc := range []struct {
		profile string
		want    []string
	}{
		{"nocreds", []string{"proxy nocreds: --check: logging in as admin", "credential_process", "the SSO session has expired", "AWS profile broken"}},
		{"ghost", []string{"proxy ghost: --check: logging in as ghost", "the cluster refused the login", `role "ghost" does not exist`}},
		{"down", []string{"proxy down: --check: logging in as admin", fmt.Sprintf("cannot connect to localhost:%d", closed), "refused", "Check that the cluster endpoint is right"}},
	} {
		before := d.Stats().Accepted
		r := proxyAtStart(t, env, "--check", "p", tc.profile)
		if r.code != 1 || r.stdout != "" {
			t.Errorf("--check %s: %+v, want status 1 and nothing on stdout", tc.profile, r)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("--check %s: the error lacks %q:\n%s", tc.profile, w, r.stderr)
			}
		}
		if strings.Contains(r.stderr, "dsqlenv: dsqlenv") || strings.Contains(r.stderr, "psql \"host=") {
			t.Errorf("--check %s: a repeated prefix, or a line saying how to connect to a proxy that did not start:\n%s", tc.profile, r.stderr)
		}
		if got := d.Stats().Accepted - before; got > 1 {
			t.Errorf("--check p %s opened %d sessions, want at most p's", tc.profile, got)
		}
	}
}

// notifyListener is a socket standing for systemd's NOTIFY_SOCKET.
func notifyListener(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readNotify reads one datagram the proxy sent to NOTIFY_SOCKET.
func readNotify(t *testing.T, c *net.UnixConn, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil || !strings.Contains(string(buf[:n]), want) {
		t.Errorf("NOTIFY_SOCKET got %q, %v; want %s", buf[:n], err, want)
	}
}

// TestProxyTellsSystemdReadyAndStopping: with NOTIFY_SOCKET set, as systemd sets it for a
// Type=notify service (a path, or an abstract name on Linux), the proxy sends READY=1 once
// it listens and STOPPING=1 when it starts draining.
func TestProxyTellsSystemdReadyAndStopping(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	_, cfg := dsqlBehindProxy(t)
	names := []string{filepath.Join(t.TempDir(), "notify")}
	if runtime.GOOS == "linux" {
		names = append(names, fmt.Sprintf("@dsqlenv-test-notify-%d", os.Getpid()))
	}
	for _, name := range names {
		c := notifyListener(t, name)
		runtimeDir := t.TempDir()
		env := awsEnv(t, true, "XDG_RUNTIME_DIR="+runtimeDir, "DSQLENV_CONFIG="+cfg, "NOTIFY_SOCKET="+name)
		p := startProxy(t, env, 1, "p")
		readNotify(t, c, "READY=1")
		if _, err := os.Stat(filepath.Join(runtimeDir, "dsqlenv", "p", ".s.PGSQL.5432")); err != nil {
			t.Errorf("READY=1 came before the socket was there: %v", err)
		}
		if code := p.stop(t, syscall.SIGTERM); code != 0 {
			t.Errorf("exit %d:\n%s", code, p.log())
		}
		readNotify(t, c, "STOPPING=1")
	}
}

// TestProxyTakesSystemdsSocket: started as systemd starts a socket-activated service (the
// listening socket as descriptor 3, LISTEN_FDS=1, LISTEN_PID its own pid), the proxy serves
// that socket and makes none of its own; a client connecting through it gets a session, and
// a process the proxy starts (the credential_process) inherits none of the LISTEN_
// variables.
func TestProxyTakesSystemdsSocket(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18})
	pg.SQL(t, "CREATE ROLE admin LOGIN")
	d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{Host: "localhost"})
	dir := t.TempDir()
	envFile := filepath.Join(dir, "credential-process-env")
	creds := writeFile(t, dir, "creds.json", `{"Version": 1, "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}`)
	script := filepath.Join(dir, "creds.sh")
	writeExecutable(t, script, fmt.Sprintf("#!/bin/sh\nenv > '%s'\ncat '%s'\n", envFile, creds))
	awsCfg := writeFile(t, dir, "aws-config", "[profile byprocess]\ncredential_process = "+script+"\n")
	cfg := writeFile(t, dir, "p.yaml", fmt.Sprintf("profiles:\n  p:\n    endpoint: localhost\n    region: us-east-1\n    port: %d\n    sslrootcert: %s\n    aws_profile: byprocess\n", d.Port, d.CAFile))

	// What the .socket unit makes: ListenStream=%t/dsqlenv/p/.s.PGSQL.5432, in a 0700 folder.
	sockDir := filepath.Join(t.TempDir(), "p")
	if err := os.Mkdir(sockDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(sockDir, ".s.PGSQL.5432"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	runtimeDir := t.TempDir()
	env := awsEnv(t, false, "XDG_RUNTIME_DIR="+runtimeDir, "DSQLENV_CONFIG="+cfg, "AWS_CONFIG_FILE="+awsCfg,
		"LISTEN_FDS=1", "LISTEN_FDNAMES=dsqlenv-proxy.socket")
	// LISTEN_PID is the proxy's own pid, which only the process itself knows before exec.
	cmd := exec.Command("sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, binPath, "proxy", "p")
	cmd.Env = env
	cmd.ExtraFiles = []*os.File{f} // descriptor 3
	p := startProxyCmd(t, cmd, 1)
	if want := `psql "host=` + sockDir + ` port=5432 user=admin dbname=postgres"`; !strings.Contains(p.log(), want) {
		t.Errorf("the start-up line is not %s:\n%s", want, p.log())
	}
	if _, err := os.Lstat(filepath.Join(runtimeDir, "dsqlenv")); err == nil {
		t.Errorf("the proxy made a socket folder of its own beside the one it was given")
	}

	psql := testkit.RequireTool(t, "psql")
	client := exec.Command(psql, "-XAtc", "select current_user", "host="+sockDir+" user=admin dbname=postgres connect_timeout=60")
	client.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	if out, err := client.CombinedOutput(); err != nil || string(out) != "admin\n" {
		t.Fatalf("through the passed socket: %v %q\n%s", err, out, p.log())
	}
	if d.Stats().Accepted != 1 {
		t.Errorf("the double accepted %d sessions, want 1", d.Stats().Accepted)
	}
	data, err := os.ReadFile(envFile)
	if err != nil || !strings.Contains(string(data), "AWS_CONFIG_FILE=") {
		t.Fatalf("the credential_process did not run: %v %q", err, data)
	}
	if strings.Contains(string(data), "LISTEN_") || strings.Contains(string(data), "NOTIFY_SOCKET") {
		t.Errorf("the credential_process inherited systemd's variables:\n%s", data)
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}
	if _, err := os.Lstat(filepath.Join(sockDir, ".s.PGSQL.5432")); err != nil {
		t.Errorf("the proxy removed systemd's socket, which outlives it: %v", err)
	}
}
