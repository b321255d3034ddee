//go:build unix

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dsqlenv/dsqlenv/internal/proxy"
	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// brokenCreds is an AWS config whose profile broken fails as an expired SSO session does.
const brokenCreds = "[profile broken]\ncredential_process = sh -c 'echo the SSO session has expired >&2; exit 3'\n"

// doubleWithProfiles starts a DSQL double (opts, for localhost) in front of PostgreSQL 18
// with the role admin, and writes a profiles file whose defaults point at it, with profiles
// (YAML under profiles:), and awsConfig as the AWS config file. It returns the double, the
// environment for the binary, and its XDG_RUNTIME_DIR.
func doubleWithProfiles(t *testing.T, opts testkit.DSQLOptions, awsConfig, profiles string) (*testkit.DSQL, []string, string) {
	t.Helper()
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18})
	pg.SQL(t, "CREATE ROLE admin LOGIN")
	opts.Host = "localhost"
	d := testkit.StartDSQL(t, pg, opts)
	dir := t.TempDir()
	awsCfg := writeFile(t, dir, "aws-config", awsConfig)
	cfg := writeFile(t, dir, "p.yaml", fmt.Sprintf("defaults:\n  region: us-east-1\n  port: %d\n  sslrootcert: %s\nprofiles:\n%s", d.Port, d.CAFile, profiles))
	runtimeDir := t.TempDir()
	return d, awsEnv(t, true, "XDG_RUNTIME_DIR="+runtimeDir, "DSQLENV_CONFIG="+cfg, "AWS_CONFIG_FILE="+awsCfg), runtimeDir
}

// TestProxyCheckLogsInAtStart: --check logs in to the double once per profile before serving;
// failing credentials, a role the cluster does not know and a cluster that is down each end
// the start with status 1 and the fix, before any client comes.
func TestProxyCheckLogsInAtStart(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	closed := testkit.FreePort(t)
	d, env, _ := doubleWithProfiles(t, testkit.DSQLOptions{}, brokenCreds, fmt.Sprintf(`  p:
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
    port: %d
`, closed))

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
// it listens and STOPPING=1 when it starts draining; LISTEN_FDS meant for another process is
// left alone.
func TestProxyTellsSystemdReadyAndStopping(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	_, cfg := dsqlBehindProxy(t, "")
	names := []string{filepath.Join(t.TempDir(), "notify")}
	if runtime.GOOS == "linux" {
		names = append(names, fmt.Sprintf("@dsqlenv-test-notify-%d", os.Getpid()))
	}
	for _, name := range names {
		c := notifyListener(t, name)
		runtimeDir := t.TempDir()
		// LISTEN_ variables for another process (pid 1) are not the proxy's: it makes its own socket.
		env := awsEnv(t, true, "XDG_RUNTIME_DIR="+runtimeDir, "DSQLENV_CONFIG="+cfg, "NOTIFY_SOCKET="+name, "LISTEN_FDS=1", "LISTEN_PID=1")
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
	notify := filepath.Join(t.TempDir(), "notify")
	n := notifyListener(t, notify)
	env := awsEnv(t, false, "XDG_RUNTIME_DIR="+runtimeDir, "DSQLENV_CONFIG="+cfg, "AWS_CONFIG_FILE="+awsCfg,
		"LISTEN_FDS=1", "LISTEN_FDNAMES=dsqlenv-proxy.socket", "NOTIFY_SOCKET="+notify)
	// LISTEN_PID is the proxy's own pid, which only the process itself knows before exec.
	cmd := exec.Command("sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, binPath, "proxy", "p")
	cmd.Env = env
	cmd.ExtraFiles = []*os.File{f} // descriptor 3
	p := startProxyCmd(t, cmd, 1)
	readNotify(t, n, "READY=1")
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

var httpLine = regexp.MustCompile(`proxy: --http on (http://127\.0\.0\.1:\d+):`)

// httpGet returns the status and body of a GET on the proxy's --http address.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestProxyHTTPHealthMetricsAndSessions: --http serves /startup, /liveness and /readiness
// (ready, then not when a profile cannot mint or is at --max-sessions), /metrics in
// Prometheus' text format counting sessions, refusals (53300 by the proxy, 53400 by the
// cluster), mint failures and bytes, and /sessions with each open session and its state;
// --http refuses an address other than loopback, and a request whose Host is not a loopback
// name (DNS rebinding).
func TestProxyHTTPHealthMetricsAndSessions(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	// Two new connections, then 53400: the double's clock stands still, so nothing refills.
	_, env, runtimeDir := doubleWithProfiles(t, testkit.DSQLOptions{Burst: 2, RatePerSecond: 0.001}, brokenCreds,
		"  p:\n    endpoint: localhost\n  nocreds:\n    endpoint: localhost\n    aws_profile: broken\n")

	if r := runBin(t, env, "proxy", "--http", "0.0.0.0:9090", "p"); r.code != 2 || !strings.Contains(r.stderr, "only a loopback address is served") {
		t.Errorf("--http 0.0.0.0:9090: %+v", r)
	}

	// One profile that can mint: started, live and ready.
	p := startProxy(t, env, 2, "--http", "127.0.0.1:0", "p")
	m := httpLine.FindStringSubmatch(p.log())
	if m == nil {
		t.Fatalf("no --http line:\n%s", p.log())
	}
	for _, path := range []string{"/startup", "/liveness", "/readiness"} {
		if code, body := httpGet(t, m[1]+path); code != 200 {
			t.Errorf("%s: %d %q", path, code, body)
		}
	}
	// A web page whose name was rebound to 127.0.0.1 sends its own name as Host: refused.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(m[1], "http://"))
	for host, want := range map[string]int{"evil.example:" + port: 421, "evil.example": 421, "127.0.0.2:" + port: 421,
		"localhost:" + port: 200, "127.0.0.1:" + port: 200, "[::1]:" + port: 200} {
		req, _ := http.NewRequest("GET", m[1]+"/sessions", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("/sessions with Host %s: %d; want %d", host, resp.StatusCode, want)
		}
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}

	p = startProxy(t, env, 3, "--http", "127.0.0.1:0", "--max-sessions", "1", "p", "nocreds")
	base := httpLine.FindStringSubmatch(p.log())[1]
	code, body := httpGet(t, base+"/readiness")
	if code != 503 || !strings.Contains(body, "profile nocreds cannot mint a token") || !strings.Contains(body, "credential_process") || strings.Contains(body, "profile p") {
		t.Errorf("/readiness with a profile that cannot mint: %d %q", code, body)
	}
	sock := func(profile string) string { return filepath.Join(runtimeDir, "dsqlenv", profile) }
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	connect := func(profile, app string) (*pgconn.PgConn, error) {
		return pgconn.Connect(ctx, "host="+sock(profile)+" user=admin dbname=postgres application_name="+app)
	}
	if _, err := connect("nocreds", "x"); err == nil || !strings.Contains(err.Error(), "credential_process") {
		t.Errorf("nocreds connected, or not with the credential error: %v", err)
	}
	held, err := connect("p", "watcher")
	if err != nil {
		t.Fatal(err)
	}
	if err := held.Exec(ctx, "begin").Close(); err != nil {
		t.Fatal(err)
	}
	var pe *pgconn.PgError
	if _, err := connect("p", "second"); !errors.As(err, &pe) || pe.Code != "53300" {
		t.Errorf("a second session past --max-sessions 1: %v, want 53300", err)
	}
	code, body = httpGet(t, base+"/readiness")
	if code != 503 || !strings.Contains(body, "profile p: 1 sessions, the --max-sessions limit") {
		t.Errorf("/readiness at --max-sessions: %d %q", code, body)
	}
	// A session's state moves once the proxy has passed the server's ReadyForQuery on, a
	// moment after the client has it: wait for it.
	code, body = sessionsIn(t, base, "idle in transaction")
	var sessions []map[string]any
	if err := json.Unmarshal([]byte(body), &sessions); code != 200 || err != nil || len(sessions) != 1 {
		t.Fatalf("/sessions: %d %v %q", code, err, body)
	}
	s := sessions[0]
	for k, want := range map[string]any{"profile": "p", "user": "admin", "database": "postgres", "application_name": "watcher", "client": "unix", "state": "idle in transaction"} {
		if s[k] != want {
			t.Errorf("/sessions: %s is %v, want %v: %s", k, s[k], want, body)
		}
	}
	if age, ok := s["age"].(float64); !ok || age < 0 {
		t.Errorf("/sessions: age %v", s["age"])
	}
	if err := held.Exec(ctx, "commit").Close(); err != nil {
		t.Fatal(err)
	}
	if _, body = sessionsIn(t, base, "idle"); !strings.Contains(body, `"state":"idle"`) {
		t.Errorf("/sessions after commit: %s", body)
	}
	code, body = httpGet(t, base+"/metrics")
	for _, want := range []string{
		"# TYPE dsqlenv_proxy_sessions_open gauge\n",
		`dsqlenv_proxy_sessions_open{profile="p"} 1` + "\n",
		`dsqlenv_proxy_sessions_open{profile="nocreds"} 0` + "\n",
		`dsqlenv_proxy_refusals_total{profile="p",sqlstate="53300"} 1` + "\n",
		`dsqlenv_proxy_mint_failures_total{profile="nocreds"} 1` + "\n",
		`dsqlenv_proxy_mint_failures_total{profile="p"} 0` + "\n",
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q: %d\n%s", want, code, body)
		}
	}
	held.Close(ctx)
	// The session's slot is given back when its handler ends: ready again.
	for deadline := time.Now().Add(60 * time.Second); ; {
		if _, body = httpGet(t, base+"/readiness"); !strings.Contains(body, "profile p:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readiness still at the session limit 60 s after the session ended: %q", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c, err := connect("p", "third") // the double's second and last new connection
	if err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	for deadline := time.Now().Add(60 * time.Second); ; {
		if _, body = httpGet(t, base+"/metrics"); strings.Contains(body, `dsqlenv_proxy_sessions_open{profile="p"} 0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session is still open 60 s after it ended:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := connect("p", "fourth"); !errors.As(err, &pe) || pe.Code != "53400" {
		t.Errorf("past the double's burst: %v, want 53400", err)
	}
	_, body = httpGet(t, base+"/metrics")
	for _, want := range []string{
		`dsqlenv_proxy_sessions_total{profile="p"} 3` + "\n", // two served, the 53400 refusal's
		`dsqlenv_proxy_refusals_total{profile="p",sqlstate="53400"} 1` + "\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	bytes := regexp.MustCompile(`dsqlenv_proxy_bytes_total\{profile="p",direction="client_to_server"\} (\d+)\n`).FindStringSubmatch(body)
	if bytes == nil || bytes[1] == "0" {
		t.Errorf("/metrics: no bytes from the sessions that ended:\n%s", body)
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}
}

// TestProxyLogsJSON: with --log-format json every line on stderr is a JSON object: the
// start-up lines, a session with the text line's fields (bytes as numbers), and connections
// that ended before a login: a cancel request and a malformed startup packet.
func TestProxyLogsJSON(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	_, cfg := dsqlBehindProxy(t, "")
	runtimeDir := t.TempDir()
	env := awsEnv(t, true, "XDG_RUNTIME_DIR="+runtimeDir, "DSQLENV_CONFIG="+cfg)
	if r := runBin(t, env, "proxy", "--log-format", "yaml", "p"); r.code != 2 || !strings.Contains(r.stderr, "--log-format yaml: give text or json") {
		t.Errorf("--log-format yaml: %+v", r)
	}
	p := startProxy(t, env, 1, "--log-format", "json", "p")
	sock := filepath.Join(runtimeDir, "dsqlenv", "p")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := pgconn.Connect(ctx, "host="+sock+" user=admin dbname=postgres")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "select 1").ReadAll(); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	// Before any login: a cancel request for a key the proxy never gave, and a startup packet
	// too short to be one.
	for _, packet := range [][]byte{
		{0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 42, 1, 2, 3, 4},
		{0, 0, 0, 4},
	} {
		conn, err := net.Dial("unix", filepath.Join(sock, ".s.PGSQL.5432"))
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(60 * time.Second))
		conn.Write(packet)
		io.Copy(io.Discard, conn)
		conn.Close()
	}
	want := map[string]bool{"session": false, "cancel request ignored: no session has that key": false, "refused: invalid length of startup packet": false}
	for deadline := time.Now().Add(60 * time.Second); ; {
		var lines []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(p.log()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil || m["time"] == nil || m["level"] != "INFO" {
				t.Fatalf("a line that is not a JSON log object: %q (%v)", l, err)
			}
			lines = append(lines, m)
		}
		for _, m := range lines {
			switch end, _ := m["end"].(string); {
			case strings.HasPrefix(fmt.Sprint(m["msg"]), `proxy p: psql "host=`+sock):
			case m["msg"] == "session" && end == "client closed":
				in, _ := m["bytes_in"].(float64)
				if m["profile"] != "p" || m["user"] != "admin" || m["database"] != "postgres" || m["client"] != "unix" || in <= 0 || m["duration"] == nil {
					t.Errorf("the session's fields: %v", m)
				}
				want["session"] = true
			case m["msg"] == "session" && m["profile"] == "p" && m["client"] == "unix":
				want[end] = true
			}
		}
		if want["session"] && want["cancel request ignored: no session has that key"] && want["refused: invalid length of startup packet"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lines missing (%v) 60 s on:\n%s", want, p.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}
}

// readTermination reads what the proxy sent a client after the hand-over, once the proxy is
// gone, and says whether it was a FATAL 57P01 before the end.
func readTermination(t *testing.T, c *pgconn.PgConn) bool {
	t.Helper()
	conn := c.Conn()
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	data, _ := io.ReadAll(conn)
	return len(data) > 0 && data[0] == 'E' && strings.Contains(string(data), "C57P01\x00")
}

// TestProxyDrainEndsIdleSessionsAndSaysSo: SIGHUP drains as SIGTERM does; when --drain runs
// out, a session idle and one idle in a transaction are each told 57P01 before the proxy
// closes them, and the stop line counts them. The global --timeout bounds a credential_process
// that hangs, and --debug explains each mint without showing a token.
func TestProxyDrainEndsIdleSessionsAndSaysSo(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	catchIgnoredSignals(t)
	d, env, runtimeDir := doubleWithProfiles(t, testkit.DSQLOptions{}, "[profile hangs]\ncredential_process = sleep 300\n",
		"  p:\n    endpoint: localhost\n  slow:\n    endpoint: localhost\n    aws_profile: hangs\n")
	p := startProxy(t, env, 2, "--debug", "--timeout", "10s", "--drain", "1s", "p", "slow")
	sock := func(profile string) string { return filepath.Join(runtimeDir, "dsqlenv", profile) }
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	// The proxy's own mint budget is 60 s: the client hears of --timeout's 10 s instead (which
	// is also what profile p's mints get: 10 s of slack for local signing on a loaded machine).
	_, err := pgconn.Connect(ctx, "host="+sock("slow")+" user=admin dbname=postgres")
	if err == nil || !strings.Contains(err.Error(), "within 10s") {
		t.Errorf("a credential_process that hangs, with --timeout 10s: %v", err)
	}
	idle, err := pgconn.Connect(ctx, "host="+sock("p")+" user=admin dbname=postgres")
	if err != nil {
		t.Fatal(err)
	}
	inTx, err := pgconn.Connect(ctx, "host="+sock("p")+" user=admin dbname=postgres")
	if err != nil {
		t.Fatal(err)
	}
	if err := inTx.Exec(ctx, "begin").Close(); err != nil {
		t.Fatal(err)
	}
	if code := p.stop(t, syscall.SIGHUP); code != 0 {
		t.Errorf("exit %d after SIGHUP:\n%s", code, p.log())
	}
	for name, c := range map[string]*pgconn.PgConn{"idle": idle, "in a transaction": inTx} {
		if !readTermination(t, c) {
			t.Errorf("the session %s was not told 57P01 before the proxy closed it", name)
		}
	}
	log := p.log()
	for _, want := range []string{
		"proxy: SIGHUP: waiting up to 1s",
		"proxy: stopped; 2 sessions were cut",
		"debug: proxy p: token for admin minted in",
		"debug: proxy slow: no token for admin after",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	for _, tk := range d.Stats().Tokens {
		if _, sig, _ := strings.Cut(tk, "X-Amz-Signature="); sig == "" || strings.Contains(log, sig) {
			t.Fatalf("a token's signature (%q) is in the proxy's log", sig)
		}
	}
}

// TestPassedSocketsGoToTheirProfiles: one profile takes every socket systemd passes, whatever
// their names; several take theirs by FileDescriptorName, and a socket named for no profile,
// or a profile left without one, is an error naming the fix.
func TestPassedSocketsGoToTheirProfiles(t *testing.T) {
	var lns []net.Listener
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		lns = append(lns, ln)
	}
	got, err := listenersByProfile(lns, []string{"dsqlenv.socket", "", "x"}, []string{"p"})
	if err != nil || len(got["p"]) != 3 {
		t.Errorf("one profile: %v %v", got, err)
	}
	got, err = listenersByProfile(lns, []string{"p", "q", "p"}, []string{"p", "q"})
	if err != nil || len(got["p"]) != 2 || got["q"][0] != lns[1] {
		t.Errorf("by name: %v %v", got, err)
	}
	if _, err := listenersByProfile(lns, []string{"p", "q", "r"}, []string{"p", "q"}); err == nil || !strings.Contains(err.Error(), `named "r", which is not a profile served here (p, q): with several profiles, give each socket FileDescriptorName=PROFILE`) {
		t.Errorf("a socket for no profile: %v", err)
	}
	if _, err := listenersByProfile(lns, []string{"p", "p", "p"}, []string{"p", "q"}); err == nil || !strings.Contains(err.Error(), "no socket for profile q: give one FileDescriptorName=q") {
		t.Errorf("a profile without a socket: %v", err)
	}
}

var (
	// promSample is a sample line of Prometheus' text format: name, labels, value.
	promSample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^{}]*)\})? (\S+)$`)
	promLabels = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*$`)
	promType   = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$`)
	promHelp   = regexp.MustCompile(`^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$`)
)

// parseMetrics holds body to Prometheus' text format
// (https://prometheus.io/docs/instrumenting/exposition_formats/): every line a HELP, a TYPE
// or a sample; each sample after its family's TYPE (a histogram's as NAME_bucket with an le
// label, NAME_sum and NAME_count), its value a number, no series twice. It returns the
// samples by series as written: `name{label="value",…}`.
func parseMetrics(t *testing.T, body string) map[string]float64 {
	t.Helper()
	types := map[string]string{}
	out := map[string]float64{}
	if !strings.HasSuffix(body, "\n") {
		t.Errorf("/metrics does not end with a line feed")
	}
	for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if m := promType.FindStringSubmatch(line); m != nil {
			if types[m[1]] != "" {
				t.Errorf("/metrics: a second TYPE for %s", m[1])
			}
			types[m[1]] = m[2]
			continue
		}
		if promHelp.MatchString(line) {
			continue
		}
		m := promSample.FindStringSubmatch(line)
		if m == nil || (m[2] != "" && !promLabels.MatchString(m[2])) {
			t.Errorf("/metrics: a malformed line: %q", line)
			continue
		}
		family := m[1]
		if types[family] == "" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if f, ok := strings.CutSuffix(m[1], suffix); ok && types[f] == "histogram" {
					family = f
					if suffix == "_bucket" && !strings.Contains(m[2], `le="`) {
						t.Errorf("/metrics: a bucket without le: %q", line)
					}
				}
			}
		}
		if types[family] == "" || types[family] == "histogram" && family == m[1] {
			t.Errorf("/metrics: a sample with no TYPE before it: %q", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Errorf("/metrics: the value of %q is not a number", line)
		}
		series := m[1] + "{" + m[2] + "}"
		if _, dup := out[series]; dup {
			t.Errorf("/metrics: %s twice", series)
		}
		out[series] = v
	}
	return out
}

// TestProxyMetricsConnectLatencyAndWarm: after sessions through the DSQL double with
// --warm 1, /metrics is well-formed Prometheus text; its connect-latency histogram counts
// every session the double accepted (clients' and warm ones), in cumulative buckets from
// 1 ms to 10 s; the client that came first waited for its session (a warm miss) and the next
// was handed a ready one (a hit).
func TestProxyMetricsConnectLatencyAndWarm(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	d, cfg := dsqlBehindProxy(t, "")
	runtimeDir := t.TempDir()
	env := awsEnv(t, true, "XDG_RUNTIME_DIR="+runtimeDir, "DSQLENV_CONFIG="+cfg)
	// --warm-age 30m: no warm session is replaced while the test runs.
	p := startProxy(t, env, 2, "--http", "127.0.0.1:0", "--warm", "1", "--warm-age", "30m", "--max-sessions", "2", "p")
	base := httpLine.FindStringSubmatch(p.log())[1]
	scrape := func() map[string]float64 {
		t.Helper()
		code, body := httpGet(t, base+"/metrics")
		if code != 200 {
			t.Fatalf("/metrics: %d %q", code, body)
		}
		return parseMetrics(t, body)
	}
	// waitWarm waits for the warm session to be ready and open client sessions: the warm
	// one is not a client's session.
	waitWarm := func(open float64) map[string]float64 {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			m := scrape()
			if m[`dsqlenv_proxy_warm_sessions{profile="p"}`] == 1 && m[`dsqlenv_proxy_sessions_open{profile="p"}`] == open {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("60 s on, not one warm session ready and %v client sessions open: %v\n%s", open, m, p.log())
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	session := func() *pgconn.PgConn {
		t.Helper()
		c, err := pgconn.Connect(ctx, "host="+filepath.Join(runtimeDir, "dsqlenv", "p")+" user=admin dbname=postgres application_name=metrics")
		if err != nil {
			t.Fatalf("%v\n%s", err, p.log())
		}
		if _, err := c.Exec(ctx, "select 1").ReadAll(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if m := scrape(); m[`dsqlenv_proxy_upstream_connect_seconds_count{profile="p"}`] != 0 || m[`dsqlenv_proxy_warm_misses_total{profile="p"}`] != 0 {
		t.Errorf("/metrics before any session: %v", m)
	}
	session().Close(ctx) // opens its own and one ahead; it waits for the first to land
	waitWarm(0)
	b := session() // handed the one ahead; its arrival opens the next
	// B and the next warm session hold both slots of --max-sessions 2, but the warm one
	// yields its slot to a client: ready.
	waitWarm(1)
	if code, body := httpGet(t, base+"/readiness"); code != 200 {
		t.Errorf("/readiness with one client and one warm session at --max-sessions 2: %d %q", code, body)
	}
	b.Close(ctx)
	m := waitWarm(0)

	accepted := d.Stats().Accepted
	if accepted != 3 {
		t.Errorf("the double accepted %d sessions, want 3 (the first client's and two warm)", accepted)
	}
	const h = "dsqlenv_proxy_upstream_connect_seconds"
	if got := m[h+`_count{profile="p"}`]; got != float64(accepted) {
		t.Errorf("%s_count is %v, want the %d sessions the double accepted", h, got, accepted)
	}
	if got := m[h+`_sum{profile="p"}`]; got <= 0 {
		t.Errorf("%s_sum is %v", h, got)
	}
	var last float64
	for _, le := range []string{"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"} {
		series := h + `_bucket{profile="p",le="` + le + `"}`
		got, ok := m[series]
		if !ok || got < last {
			t.Errorf("%s: %v (present %v), below the bucket before it (%v)", series, got, ok, last)
		}
		last = got
	}
	if last != float64(accepted) {
		t.Errorf("the +Inf bucket holds %v, want %d", last, accepted)
	}
	for series, want := range map[string]float64{
		`dsqlenv_proxy_sessions_total{profile="p"}`:      2,
		`dsqlenv_proxy_warm_hits_total{profile="p"}`:     1,
		`dsqlenv_proxy_warm_misses_total{profile="p"}`:   1,
		`dsqlenv_proxy_warm_sessions{profile="p"}`:       1,
		`dsqlenv_proxy_mint_failures_total{profile="p"}`: 0,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s is %v (present %v), want %v", series, got, ok, want)
		}
	}
	// The README's table names every metric served.
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for series := range m {
		name, _, _ := strings.Cut(series, "{")
		if strings.HasPrefix(name, h) {
			name = h
		}
		names[name] = true
	}
	for name := range names {
		if !strings.Contains(string(readme), "| `"+name) {
			t.Errorf("the README's table of metrics lacks %s", name)
		}
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}
}

// TestReadinessKeepsItsAnswersAWhile: /readiness mints (which may call STS or SSO) and dials
// the cluster at most once in 10 s, on the proxy's clock, and mints again sooner when the
// credentials expire sooner; a failed mint is kept as long, so a broken credential chain is not
// run on every probe either. An answer too old is refreshed in the background, one refresh at a
// time, while probes get the last one at once: a mint may take --timeout, longer than a
// supervisor waits. It fails when a profile cannot mint, when its cluster does not take a
// connection (a port nothing listens on), and at --max-sessions.
func TestReadinessKeepsItsAnswersAWhile(t *testing.T) {
	cluster, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	srv, err := proxy.New(proxy.Config{Profile: "p", Upstream: proxy.Upstream{Addr: cluster.Addr().String()},
		Mint: func(context.Context, string) (string, error) { return "", errors.New("not used") }})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// The clock, the mint's answers and its gate, shared with the refreshes in the background.
	var (
		mu      sync.Mutex
		now     = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		mints   int
		expires = now.Add(time.Hour)
		mintErr error
		gate    chan struct{} // when set, a mint waits for it
	)
	set := func(f func()) { mu.Lock(); defer mu.Unlock(); f() }
	h := &proxyHTTP{o: proxyOptions{maxSessions: 1}, eps: []*endpoint{{profile: "p", server: srv}}}
	p := &readiness{now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }, timeout: time.Minute, reach: srv.Reachable,
		mint: func(context.Context) (time.Time, error) {
			mu.Lock()
			mints++
			e, err, g := expires, mintErr, gate
			mu.Unlock()
			if g != nil {
				<-g
			}
			return e, err
		}}
	h.probes = []*readiness{p}
	h.started.Store(true)
	// probe answers at once, whatever a refresh is doing: it fails after 30 s of waiting.
	probe := func(wantCode int, wantBody string) {
		t.Helper()
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { defer close(done); h.readiness(rec, httptest.NewRequest("GET", "/readiness", nil)) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("a probe still waits after 30 s (a refresh is running)")
		}
		if rec.Code != wantCode || !strings.Contains(rec.Body.String(), wantBody) {
			t.Errorf("at %s: %d %q; want %d %q", p.now().Format(time.TimeOnly), rec.Code, rec.Body, wantCode, wantBody)
		}
	}
	// refreshed waits for the refresh a probe started to end, and checks the mints so far.
	refreshed := func(wantMints int) {
		t.Helper()
		eventuallyTrue(t, "the refresh to end", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.refreshing == nil })
		mu.Lock()
		defer mu.Unlock()
		if mints != wantMints {
			t.Errorf("at %s: %d mints; want %d", now.Format(time.TimeOnly), mints, wantMints)
		}
	}
	advance := func(d time.Duration) { set(func() { now = now.Add(d) }) }

	// The first probe has no answer yet: it waits for one.
	probe(200, "ok")
	refreshed(1)
	probe(200, "ok")
	advance(readyFor - time.Second)
	probe(200, "ok")
	refreshed(1)
	// Once the answer is 10 s old, the probe gets it still, and a refresh starts.
	advance(time.Second)
	probe(200, "ok")
	refreshed(2)

	// Credentials that expire in 3 s: the answer is kept 3 s.
	advance(readyFor)
	set(func() { expires = now.Add(3 * time.Second) })
	probe(200, "ok")
	refreshed(3)
	advance(3 * time.Second)
	probe(200, "ok")
	refreshed(4)

	// A chain that fails: told from the probe after the refresh, and kept as long as a good answer.
	set(func() { mintErr = errors.New("dsqlenv: profile p: the SSO session has expired: run aws sso login") })
	advance(readyFor)
	probe(200, "ok")
	refreshed(5)
	probe(503, "profile p cannot mint a token: profile p: the SSO session has expired: run aws sso login")
	probe(503, "the SSO session has expired")
	refreshed(5)
	set(func() { mintErr = nil })
	advance(readyFor)
	probe(503, "the SSO session has expired")
	refreshed(6)
	probe(200, "ok")

	// A mint that takes as long as --timeout lets: probes meanwhile get the last answer, and
	// start no other refresh.
	set(func() { gate = make(chan struct{}) })
	advance(readyFor)
	probe(200, "ok")
	probe(200, "ok")
	advance(readyFor)
	probe(200, "ok")
	set(func() { close(gate); gate = nil })
	refreshed(7)

	// The cluster goes away: kept as reachable until the answer is 10 s old.
	cluster.Close()
	probe(200, "ok")
	advance(readyFor)
	probe(200, "ok")
	refreshed(8)
	probe(503, "profile p cannot reach its cluster: cannot connect to "+cluster.Addr().String())

	// At the limit (here 0 of 0; a real session at --max-sessions is in
	// TestProxyHTTPHealthMetricsAndSessions).
	h.o.maxSessions = 0
	probe(503, "profile p: 0 sessions, the --max-sessions limit")
}

// sessionsIn asks /sessions until a session is in state, for up to 60 s, and returns the last
// answer.
func sessionsIn(t *testing.T, base, state string) (int, string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, body := httpGet(t, base+"/sessions")
		if strings.Contains(body, `"state":"`+state+`"`) || time.Now().After(deadline) {
			return code, body
		}
	}
}
