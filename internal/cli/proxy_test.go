//go:build unix

package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// proxyRun is a `dsqlenv proxy` started by a test, with what it printed on stderr.
type proxyRun struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
	lines  chan string
	done   chan struct{}
}

// startProxy runs the binary's proxy command with env and waits for its start-up lines.
func startProxy(t *testing.T, env []string, want int, args ...string) *proxyRun {
	t.Helper()
	return startProxyIn(t, "", env, want, args...)
}

// startProxyIn is startProxy in the working directory dir ("": the test's).
func startProxyIn(t *testing.T, dir string, env []string, want int, args ...string) *proxyRun {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"proxy"}, args...)...)
	cmd.Env = env
	cmd.Dir = dir
	return startProxyCmd(t, cmd, want)
}

// startProxyCmd is startProxy for a prepared command.
func startProxyCmd(t *testing.T, cmd *exec.Cmd, want int) *proxyRun {
	t.Helper()
	p := &proxyRun{cmd: cmd, lines: make(chan string, 100), done: make(chan struct{})}
	errPipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, errPipe)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		p.cmd.Wait()
	})
	for i := 0; i < want; i++ {
		select {
		case <-p.lines:
		case <-p.done:
			t.Fatalf("the proxy ended at start:\n%s", p.log())
		case <-time.After(60 * time.Second):
			t.Fatalf("the proxy printed %d of %d start-up lines in 60 s:\n%s", i, want, p.log())
		}
	}
	return p
}

func (p *proxyRun) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// stop sends sig and waits for the proxy to exit, returning its status.
func (p *proxyRun) stop(t *testing.T, sig syscall.Signal) int {
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the proxy did not stop within 60 s of %v:\n%s", sig, p.log())
	}
	p.cmd.Wait()
	return p.cmd.ProcessState.ExitCode()
}

// dsqlBehindProxy is a DSQL double standing for localhost, in front of PostgreSQL 18, and a
// profiles file whose profile p points at it. Its tokens last expiresIn ("12s" for a test that
// waits for them to expire), else the default 15 minutes: a token is minted before its
// session's TLS handshake, and 200 handshakes at once on a loaded machine can take longer
// than a short lifetime.
func dsqlBehindProxy(t *testing.T, expiresIn string) (*testkit.DSQL, string) {
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18})
	pg.SQL(t, "CREATE ROLE admin LOGIN; CREATE ROLE app LOGIN")
	d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{Host: "localhost"})
	yaml := fmt.Sprintf("profiles:\n  p:\n    endpoint: localhost\n    region: %s\n    port: %d\n    sslrootcert: %s\n", d.Region, d.Port, d.CAFile)
	if expiresIn != "" {
		yaml += "    expires_in: " + expiresIn + "\n"
	}
	cfg := writeFile(t, t.TempDir(), "p.yaml", yaml)
	return d, cfg
}

var tcpLine = regexp.MustCompile(`psql "host=127\.0\.0\.1 port=(\d+) user=admin dbname=postgres sslmode=verify-full sslrootcert=\S+/dsqlenv/proxy/localhost\.crt( require_auth=scram-sha-256)?"`)

// TestProxyServesFreshTokensOverSocketAndTCP: psql on libpq 18 and 15 through the socket, and
// with the local password over TCP; once a token has expired, new sessions still connect
// through the proxy while a block minted before is refused; the token appears
// nowhere a client or the log shows; SIGTERM ends it with the socket file gone.
func TestProxyServesFreshTokensOverSocketAndTCP(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	d, cfg := dsqlBehindProxy(t, "12s")
	runtime := t.TempDir()
	passfile := filepath.Join(t.TempDir(), "pgpass")
	env := awsEnv(t, true, "XDG_RUNTIME_DIR="+runtime, "PGPASSFILE="+passfile, "DSQLENV_CONFIG="+cfg)
	p := startProxy(t, env, 4, "--listen", "127.0.0.1:0", "p")
	sock := filepath.Join(runtime, "dsqlenv", "p")
	m := tcpLine.FindStringSubmatch(p.log())
	if m == nil || !strings.Contains(p.log(), `psql "host=`+sock+` user=admin dbname=postgres"`) {
		t.Fatalf("start-up lines:\n%s", p.log())
	}
	port := m[1]

	query := "select current_user, current_setting('application_name')"
	for _, libpq := range []int{18, 15} {
		psql, penv := testkit.PsqlWithLibpq(t, libpq)
		for _, conninfo := range []string{"host=" + sock + " user=admin dbname=postgres", "host=" + sock + " user=app dbname=postgres application_name=mine"} {
			cmd := exec.Command(psql, "-XAtc", query, conninfo)
			cmd.Env = append(penv, "PGPASSFILE="+passfile)
			out, err := cmd.CombinedOutput()
			want := "admin|psql\n" // psql's own fallback_application_name
			if strings.Contains(conninfo, "app") {
				want = "app|mine\n"
			}
			if err != nil || string(out) != want {
				t.Errorf("libpq %d %q: %v %q, want %q", libpq, conninfo, err, out, want)
			}
		}
	}
	// Four sessions: the first made a full TLS handshake upstream, the next ones resumed its
	// TLS session with the ticket the double gave.
	if st := d.Stats(); st.Resumed < 1 || st.Resumed >= len(st.Endpoints) {
		t.Errorf("%d of %d upstream TLS connections resumed, want the later ones and not the first", st.Resumed, len(st.Endpoints))
	}
	// TCP: the password from the line the proxy put in PGPASSFILE; a wrong one is refused.
	psql, penv := testkit.PsqlWithLibpq(t, 18)
	tcp := "host=127.0.0.1 port=" + port + " user=admin dbname=postgres sslmode=disable"
	cmd := exec.Command(psql, "-XAtc", "select current_user", tcp)
	cmd.Env = append(penv, "PGPASSFILE="+passfile)
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "admin\n" {
		t.Errorf("TCP with the password file: %v %q", err, out)
	}
	cmd = exec.Command(psql, "-XAtc", "select 1", tcp)
	cmd.Env = append(penv, "PGPASSWORD=wrong", "PGPASSFILE=/nonexistent")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), `password authentication failed for user "admin"`) {
		t.Errorf("TCP with a wrong password: %v %q", err, out)
	}
	// The same port on [::1] is the proxy's too, where localhost resolves to ::1 first.
	data, _ := os.ReadFile(passfile)
	pw := string(data[strings.LastIndexByte(strings.TrimSpace(string(data)), ':')+1:])
	cmd = exec.Command(psql, "-XAtc", "select current_user", "host=::1 port="+port+" user=admin dbname=postgres sslmode=disable")
	cmd.Env = append(penv, "PGPASSWORD="+strings.TrimSpace(pw), "PGPASSFILE=/nonexistent")
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "admin\n" {
		t.Errorf("TCP on [::1] with the local password: %v %q", err, out)
	}

	// The tokens live 12 s (expires_in). 13 s later a block minted now is dead, and the proxy
	// still gets in because it mints one per session. (The SDK signs with the real clock, so
	// the double's clock cannot stand in for the wait: it would age the proxy's tokens too.
	// A fresh token has its whole 12 s to reach the double: the slack a loaded machine needs.)
	block := runBin(t, env, "bash", "p")
	time.Sleep(13 * time.Second)
	before := d.Stats().Accepted
	cmd = exec.Command(psql, "-XAtc", "select current_user", "host="+sock+" user=admin dbname=postgres")
	cmd.Env = penv
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "admin\n" || d.Stats().Accepted != before+1 {
		t.Errorf("through the proxy 20 minutes on: %v %q", err, out)
	}
	direct := exec.Command("bash", "-c", block.stdout+"\n\"$PSQL\" -XAtc 'select 1'")
	direct.Env = append(penv, "PSQL="+psql)
	if out, err := direct.CombinedOutput(); err == nil || !strings.Contains(string(out), "Signature expired") {
		t.Errorf("the block minted 20 minutes earlier still connects directly: %v %q", err, out)
	}

	log := p.log()
	for _, tk := range d.Stats().Tokens {
		_, sig, _ := strings.Cut(tk, "X-Amz-Signature=")
		if sig == "" || strings.Contains(log, sig) {
			t.Fatalf("a token's signature (%q) is in the proxy's log", sig)
		}
	}
	if !strings.Contains(log, "dsqlenv: proxy: profile=p user=\"admin\"") || strings.Contains(log, "proxy dsqlenv proxy") {
		t.Errorf("no session lines in the log, or lines that say proxy twice:\n%s", log)
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d after SIGTERM:\n%s", code, p.log())
	}
	if _, err := os.Lstat(filepath.Join(sock, ".s.PGSQL.5432")); err == nil {
		t.Error("the socket file outlived the proxy")
	}
	if _, err := os.Lstat(sock); err == nil {
		t.Error("the socket's directory, empty, outlived the proxy")
	}
}

// TestProxyRefusesWhatItShouldNot: --listen on a non-loopback address, no profile, and an
// unknown profile are usage errors before anything listens.
func TestProxyRefusesWhatItShouldNot(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  p:\n    endpoint: localhost\n    region: us-east-1\n")
	env := awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "XDG_RUNTIME_DIR="+t.TempDir())
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--listen", "0.0.0.0:6432", "p"}, 2, "only 127.0.0.1, [::1] or localhost is served"},
		{[]string{"--listen", "192.168.1.1:6432", "p"}, 2, "only 127.0.0.1, [::1] or localhost is served"},
		// 127.0.0.1:6432 would stay free for another user, yet the password-file lines name it.
		{[]string{"--listen", "127.0.0.2:6432", "p"}, 2, "proxy: --listen 127.0.0.2:6432: only 127.0.0.1, [::1] or localhost is served"},
		{[]string{"--listen", "6432", "p"}, 2, "give HOST:PORT"},
		{[]string{}, 2, "missing PROFILE"},
		{[]string{"nope"}, 1, `no profile "nope"`},
	} {
		r := proxyAtStart(t, env, tc.args...) // one that wrongly starts is stopped after 60 s
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("proxy %v: %+v", tc.args, r)
		}
	}
	// The same from a proxy: block, as a shared profiles file could hold it.
	cfg = writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  p:\n    endpoint: localhost\n    region: us-east-1\n    proxy:\n      listen: 127.0.0.2:6432\n")
	env = awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "XDG_RUNTIME_DIR="+t.TempDir())
	if r := proxyAtStart(t, env, "p"); r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "p.yaml:6: profile p: proxy: listen: 127.0.0.2 is not 127.0.0.1") {
		t.Errorf("proxy with listen: 127.0.0.2:6432 in its proxy: block: %+v", r)
	}
}

// TestProxyErrorSaysDsqlenvOnce: a socket another proxy holds is an error that names the
// profile and the path once, without the proxy package's own prefix after the command's.
func TestProxyErrorSaysDsqlenvOnce(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  loc:\n    endpoint: localhost\n    region: us-east-1\n")
	runtime := t.TempDir()
	dir := filepath.Join(runtime, "dsqlenv", "loc")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, ".s.PGSQL.5432")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := proxyAtStart(t, awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "XDG_RUNTIME_DIR="+runtime), "loc")
	if want := "dsqlenv: proxy loc: " + sock + " is in use by another proxy\n"; r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Errorf("got %+v, want exit 1 and %q", r, want)
	}
}

// proxyAtStart runs a proxy that should fail at start. One that starts instead runs until
// killed: 60 s tells that apart on a loaded machine.
func proxyAtStart(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, append([]string{"proxy"}, args...)...)
	cmd.Env = env
	return runCmd(t, cmd)
}

// TestProxySocketParentInTmp: the short fallback parent of the socket folder,
// $TMPDIR/dsqlenv-UID, is refused when another user could have made or changed it (a link,
// mode 0777, another owner), and made 0700 when missing.
func TestProxySocketParentInTmp(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  p:\n    endpoint: localhost\n    region: us-east-1\n")
	// A runtime folder so long that the socket's path passes the limit.
	runtime := filepath.Join(t.TempDir(), strings.Repeat("r", 110))
	if err := os.MkdirAll(runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	for _, tc := range []struct {
		name string
		make func(parent string) error
		want string
	}{
		{"a link", func(parent string) error { return os.Symlink(elsewhere, parent) }, "is not a directory but a symbolic link"},
		{"mode 0777", func(parent string) error {
			if err := os.Mkdir(parent, 0o700); err != nil {
				return err
			}
			return os.Chmod(parent, 0o777)
		}, "has mode 0777"},
		{"another owner", func(parent string) error {
			if os.Geteuid() != 0 {
				t.Skip("needs root to make a folder of another user's")
			}
			if err := os.Mkdir(parent, 0o700); err != nil {
				return err
			}
			return os.Chown(parent, 65534, 65534)
		}, "belongs to UID 65534"},
		{"missing", func(string) error { return nil }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			parent := filepath.Join(tmp, "dsqlenv-"+strconv.Itoa(os.Getuid()))
			if err := tc.make(parent); err != nil {
				t.Fatal(err)
			}
			env := awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "XDG_RUNTIME_DIR="+runtime, "TMPDIR="+tmp)
			if tc.want == "" {
				p := startProxy(t, env, 1, "p")
				if fi, err := os.Lstat(parent); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 || !strings.Contains(p.log(), "host="+filepath.Join(parent, "p")+" ") {
					t.Errorf("%s: %v %v\n%s", parent, fi, err, p.log())
				}
				return
			}
			r := proxyAtStart(t, env, "p")
			if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, parent+" ") || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "XDG_RUNTIME_DIR") {
				t.Errorf("%+v", r)
			}
			if entries, _ := os.ReadDir(elsewhere); len(entries) > 0 {
				t.Errorf("the proxy wrote through the link: %v", entries)
			}
		})
	}
}

// TestProxyHoldsBothLoopbackFamilies: with [::1]:PORT taken (by another user, say), the
// proxy refuses to listen on 127.0.0.1:PORT, naming the address and why: clients that try ::1
// first for localhost would give the other program their password.
func TestProxyHoldsBothLoopbackFamilies(t *testing.T) {
	foreign, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatalf("this test needs an IPv6 loopback: %v", err)
	}
	defer foreign.Close()
	port := strconv.Itoa(foreign.Addr().(*net.TCPAddr).Port)
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  p:\n    endpoint: localhost\n    region: us-east-1\n")
	env := awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "XDG_RUNTIME_DIR="+t.TempDir(), "PGPASSFILE="+filepath.Join(t.TempDir(), "pgpass"))
	for _, addr := range []string{"127.0.0.1:" + port, "localhost:" + port} {
		r := proxyAtStart(t, env, "--listen", addr, "p")
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "[::1]:"+port+" is taken") || !strings.Contains(r.stderr, "localhost") {
			t.Errorf("--listen %s beside a foreign [::1]:%s: %+v", addr, port, r)
		}
	}
}

// TestProxyPsqlLineRequiresSCRAM: the TCP line verifies the proxy's local certificate
// (sslmode=verify-full, sslrootcert its file in the state folder) and, where the psql on PATH
// loads libpq 16 or newer, carries require_auth=scram-sha-256 (libpq 15 rejects the keyword);
// it connects as printed, with the password from the pgpass line. A program that takes the
// port while the proxy is down and asks for the password in cleartext gets nothing from
// either: it cannot show the certificate.
func TestProxyPsqlLineRequiresSCRAM(t *testing.T) {
	t.Parallel() // its own servers, proxies and directories; mostly waiting on them
	_, cfg := dsqlBehindProxy(t, "")
	passfile := filepath.Join(t.TempDir(), "pgpass")
	tcp := regexp.MustCompile(`psql "(host=127\.0\.0\.1 port=(\d+) user=admin dbname=postgres sslmode=verify-full sslrootcert=(\S+)( require_auth=scram-sha-256)?)"`)
	for _, libpq := range []int{18, 15} {
		psql, penv := testkit.PsqlWithLibpq(t, libpq)
		env := awsEnv(t, true, append([]string{"XDG_RUNTIME_DIR=" + t.TempDir(), "PGPASSFILE=" + passfile, "DSQLENV_CONFIG=" + cfg}, penv...)...)
		env[0] = "PATH=" + filepath.Dir(psql) + string(os.PathListSeparator) + os.Getenv("PATH")
		p := startProxy(t, env, 4, "--listen", "127.0.0.1:0", "p")
		m := tcp.FindStringSubmatch(p.log())
		if m == nil || (m[4] != "") != (libpq >= 16) || !strings.HasSuffix(m[3], filepath.Join("dsqlenv", "proxy", "localhost.crt")) {
			t.Fatalf("libpq %d: start-up lines:\n%s", libpq, p.log())
		}
		conninfo, port := m[1], m[2]
		cmd := exec.Command(psql, "-XAtc", "select current_user", conninfo)
		cmd.Env = append(penv, "PGPASSFILE="+passfile)
		if out, err := cmd.CombinedOutput(); err != nil || string(out) != "admin\n" {
			t.Errorf("libpq %d: the printed line %q: %v %q", libpq, conninfo, err, out)
		}
		if code := p.stop(t, syscall.SIGTERM); code != 0 {
			t.Errorf("exit %d:\n%s", code, p.log())
		}

		// Another program takes the port and asks for the password in cleartext.
		ln, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() {
			defer ln.Close()
			c, err := ln.Accept()
			if err != nil {
				got <- err.Error()
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			be := pgproto3.NewBackend(c, c)
			if _, err := be.ReceiveStartupMessage(); err != nil {
				got <- err.Error()
				return
			}
			be.Send(&pgproto3.AuthenticationCleartextPassword{})
			be.Flush()
			be.SetAuthType(pgproto3.AuthTypeCleartextPassword)
			msg, err := be.Receive()
			if pw, ok := msg.(*pgproto3.PasswordMessage); ok {
				got <- "password " + pw.Password
				be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01", Message: "got it"})
				be.Flush()
				return
			}
			got <- fmt.Sprintf("no password: %T %v", msg, err)
		}()
		cmd = exec.Command(psql, "-XAtc", "select 1", conninfo)
		cmd.Env = append(penv, "PGPASSFILE="+passfile)
		out, err := cmd.CombinedOutput()
		heard := <-got
		if err == nil || !strings.Contains(string(out), "SSL") || !strings.HasPrefix(heard, "no password") {
			t.Errorf("libpq %d: the printed line against a program without the certificate: %v %q; the other program: %q", libpq, err, out, heard)
		}
	}
}

// TestProxyPassFileAsLibpqReadsIt: the proxy writes the local password where libpq reads
// PGPASSFILE, as it is: "~/pgpass" is a folder named ~ in the working directory, not the home.
func TestProxyPassFileAsLibpqReadsIt(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	_, cfg := dsqlBehindProxy(t, "")
	cwd := t.TempDir()
	if err := os.Mkdir(filepath.Join(cwd, "~"), 0o700); err != nil {
		t.Fatal(err)
	}
	env := awsEnv(t, true, "XDG_RUNTIME_DIR="+t.TempDir(), "PGPASSFILE=~/pgpass", "DSQLENV_CONFIG="+cfg)
	p := startProxyIn(t, cwd, env, 4, "--listen", "127.0.0.1:0", "p")
	m := tcpLine.FindStringSubmatch(p.log())
	if m == nil || !strings.Contains(p.log(), "(and in ~/pgpass for every role and database on port "+m[1]+")") {
		t.Fatalf("start-up lines:\n%s", p.log())
	}
	psql, penv := testkit.PsqlWithLibpq(t, 18)
	cmd := exec.Command(psql, "-XAtc", "select current_user", "host=127.0.0.1 port="+m[1]+" user=admin dbname=postgres sslmode=disable")
	cmd.Dir = cwd
	cmd.Env = append(penv, "PGPASSFILE=~/pgpass", "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "admin\n" {
		t.Errorf("psql with PGPASSFILE=~/pgpass from %s: %v %q", cwd, err, out)
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}
}

// TestProxyPassFileServesEveryRole: the line the proxy writes gives the local password to
// every role and database on its port, under each name of the loopback host, so psql logs in
// as a role other than the profile's with nothing typed; lines an earlier run of the profile
// left (found by its password) go, and the user's own lines stay.
func TestProxyPassFileServesEveryRole(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	_, cfg := dsqlBehindProxy(t, "")
	state := t.TempDir()
	os.MkdirAll(filepath.Join(state, "dsqlenv", "proxy"), 0o700)
	writeFile(t, filepath.Join(state, "dsqlenv", "proxy"), "p.password", "localpw\n")
	mine := "# mine\n127.0.0.1:3:*:*:users-own\nother.example:5432:postgres:admin:localpw\n"
	passfile := writeFile(t, t.TempDir(), "pgpass", mine+"127.0.0.1:1:postgres:admin:localpw\nlocalhost:2:*:*:localpw\n")
	env := awsEnv(t, true, "XDG_RUNTIME_DIR="+t.TempDir(), "XDG_STATE_HOME="+state, "PGPASSFILE="+passfile, "DSQLENV_CONFIG="+cfg)
	p := startProxy(t, env, 4, "--listen", "127.0.0.1:0", "p")
	m := tcpLine.FindStringSubmatch(p.log())
	if m == nil {
		t.Fatalf("start-up lines:\n%s", p.log())
	}
	port := m[1]
	data, _ := os.ReadFile(passfile)
	want := mine + "localhost:" + port + ":*:*:localpw\n127.0.0.1:" + port + ":*:*:localpw\n\\:\\:1:" + port + ":*:*:localpw\n"
	if string(data) != want {
		t.Errorf("the password file:\n%s\nwant:\n%s", data, want)
	}
	psql, penv := testkit.PsqlWithLibpq(t, 18)
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		cmd := exec.Command(psql, "-XAtc", "select current_user", "host="+host+" port="+port+" user=app dbname=postgres sslmode=disable")
		cmd.Env = append(penv, "PGPASSFILE="+passfile)
		if out, err := cmd.CombinedOutput(); err != nil || string(out) != "app\n" {
			t.Errorf("psql as app on %s with the password file: %v %q", host, err, out)
		}
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}
}

// TestProxySessionCapCancelAndWhoMayConnect: the double ends a session at its cap and the
// same interactive psql reconnects through the proxy on its automatic reset; Ctrl-C on a long
// query cancels that query only; another local user cannot reach the socket.
func TestProxySessionCapCancelAndWhoMayConnect(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	catchIgnoredSignals(t)
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18})
	pg.SQL(t, "CREATE ROLE admin LOGIN")
	d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{Host: "localhost"}) // DSQL's one-hour cap
	cfg := writeFile(t, t.TempDir(), "p.yaml", fmt.Sprintf("profiles:\n  p:\n    endpoint: localhost\n    region: %s\n    port: %d\n    sslrootcert: %s\n", d.Region, d.Port, d.CAFile))
	runtime := t.TempDir()
	env := awsEnv(t, true, "XDG_RUNTIME_DIR="+runtime, "DSQLENV_CONFIG="+cfg)
	p := startProxy(t, env, 1, "p")
	sock := filepath.Join(runtime, "dsqlenv", "p")
	psqlEnv := []string{"PATH=" + os.Getenv("PATH"), "TERM=dumb", "HOME=" + t.TempDir()}

	t.Run("cancel", func(t *testing.T) {
		other := startPsql(t, false, psqlEnv, "-h", sock, "-U", "admin", "-d", "postgres")
		s := startPsql(t, true, psqlEnv, "-h", sock, "-U", "admin", "-d", "postgres")
		s.send("select 'ready';\n", "ready")
		// The other session sleeps 3 s and must finish with its own result, not a cancel.
		io.WriteString(other.stdin, "select pg_sleep(3), 'other-done';\n")
		s.send("select pg_sleep(30);\n", "select pg_sleep(30);")
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if strings.Contains(pg.SQL(t, "select count(*) from pg_stat_activity where query = 'select pg_sleep(30);' and state = 'active'"), "1") {
				break
			}
		}
		s.send("\x03", "canceling statement due to user request")
		other.send("", "|other-done")
	})

	t.Run("session cap and psql's reset", func(t *testing.T) {
		s := startPsql(t, true, psqlEnv, "-h", sock, "-U", "admin", "-d", "postgres")
		first := s.backendPID("A") // answered: the double relays the session, its start taken
		// The double's clock moves past the cap, which ends the session, and back, since the
		// proxy signs its next token on the real clock. psql, idle at its prompt, notices the
		// loss only at the next query, when the clock is back.
		capped := d.Stats().Capped
		d.Advance(61 * time.Minute)
		eventuallyTrue(t, "the double ends the session at its one-hour cap", func() bool { return d.Stats().Capped > capped })
		d.Advance(-61 * time.Minute)
		s.send("select 1;\n", "Attempting reset: Succeeded.")
		if second := s.backendPID("B"); second == first || second <= 0 {
			t.Errorf("after the reset the backend is %d, before %d", second, first)
		}
	})

	t.Run("another user", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to run psql as another user")
		}
		psql := testkit.RequireTool(t, "psql")
		cmd := exec.Command(psql, "-XAtc", "select 1", "host="+sock+" user=admin dbname=postgres")
		cmd.Env = psqlEnv
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		if out, err := cmd.CombinedOutput(); err == nil || strings.Contains(string(out), "\n1\n") {
			t.Errorf("nobody connected through the socket: %v %q", err, out)
		}
	})
	if code := p.stop(t, syscall.SIGINT); code != 0 {
		t.Errorf("exit %d after SIGINT:\n%s", code, p.log())
	}
}

// TestProxyFailuresReachTheClient: a wrong CA (naming the file it trusted), a cluster that is
// down, and a failing credential_process each give the client a PostgreSQL error with the
// fix, and the proxy then serves the next client.
func TestProxyFailuresReachTheClient(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18})
	pg.SQL(t, "CREATE ROLE admin LOGIN")
	d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{Host: "localhost"})
	dir := t.TempDir()
	otherCA := writeFile(t, dir, "other-ca.pem", string(testkit.NewCA(t, "some other CA").CertPEM))
	awsCfg := writeFile(t, dir, "aws-config", "[profile broken]\ncredential_process = sh -c 'exit 3'\n"+
		"[profile nosso]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Admin\n")
	closed := testkit.FreePort(t)
	cfg := writeFile(t, dir, "p.yaml", fmt.Sprintf(`defaults:
  region: us-east-1
  sslrootcert: %[2]s
profiles:
  p:
    endpoint: localhost
    port: %[1]d
  wrongca:
    endpoint: localhost
    port: %[1]d
    sslrootcert: %[3]s
  down:
    endpoint: localhost
    port: %[4]d
  nocreds:
    endpoint: localhost
    port: %[1]d
    aws_profile: broken
  nologin:
    endpoint: localhost
    port: %[1]d
    aws_profile: nosso
`, d.Port, d.CAFile, otherCA, closed))
	runtime := t.TempDir()
	env := awsEnv(t, true, "XDG_RUNTIME_DIR="+runtime, "DSQLENV_CONFIG="+cfg, "AWS_CONFIG_FILE="+awsCfg)
	p := startProxy(t, env, 5, "p", "wrongca", "down", "nocreds", "nologin")
	psql := testkit.RequireTool(t, "psql")
	connect := func(profile string) (string, error) {
		cmd := exec.Command(psql, "-XAtc", "select current_user", "host="+filepath.Join(runtime, "dsqlenv", profile)+" user=admin dbname=postgres")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for profile, want := range map[string][]string{
		"wrongca": {"certificate", otherCA},
		"down":    {fmt.Sprint(closed), "refused"},
		"nocreds": {"credential_process", "AWS profile broken"},
	} {
		out, err := connect(profile)
		if err == nil {
			t.Errorf("%s connected: %q", profile, out)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: the client's error lacks %q: %q", profile, w, out)
			}
		}
		if out, err := connect("p"); err != nil || out != "admin\n" {
			t.Errorf("after %s the proxy no longer serves: %v %q", profile, err, out)
		}
	}
	// A failure to mint that a retry may mend (a credential_process that failed) is 08001,
	// which drivers and pools retry; one only the user can fix (no SSO login) is 28000.
	for profile, code := range map[string]string{"nocreds": "08001", "nologin": "28000"} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		_, err := pgconn.Connect(ctx, "host="+filepath.Join(runtime, "dsqlenv", profile)+" user=admin dbname=postgres")
		cancel()
		if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != code {
			t.Errorf("%s: got %v; want SQLSTATE %s", profile, err, code)
		}
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}
}

// TestProxyServesEveryClient: pgx over the socket and TCP (select current_user and a 10 MB
// COPY TO STDOUT that comes back byte for byte), node-postgres over both, and pgjdbc over TCP
// (no Unix sockets in the JDK), each with nothing but where the proxy is and the local
// password; every session is a token the double accepted.
func TestProxyServesEveryClient(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	d, cfg := dsqlBehindProxy(t, "")
	runtime := t.TempDir()
	state := t.TempDir()
	env := awsEnv(t, true, "XDG_RUNTIME_DIR="+runtime, "XDG_STATE_HOME="+state, "PGPASSFILE="+filepath.Join(t.TempDir(), "pgpass"), "DSQLENV_CONFIG="+cfg)
	p := startProxy(t, env, 4, "--listen", "127.0.0.1:0", "p")
	m := tcpLine.FindStringSubmatch(p.log())
	if m == nil {
		t.Fatalf("start-up lines:\n%s", p.log())
	}
	port := m[1]
	pwBytes, err := os.ReadFile(filepath.Join(state, "dsqlenv", "proxy", "p.password"))
	if err != nil {
		t.Fatal(err)
	}
	pw := strings.TrimSpace(string(pwBytes))
	if st, _ := os.Stat(filepath.Join(state, "dsqlenv", "proxy", "p.password")); st.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %v", st.Mode().Perm())
	}
	// A client that insists on TLS (pgweb's sslmode=require) gets it over TCP, from a
	// certificate kept beside the password, 0600 in the proxy's 0700 folder; a client that
	// verifies the server trusts it as its sslrootcert.
	for _, name := range []string{"localhost.crt", "localhost.key"} {
		if st, err := os.Stat(filepath.Join(state, "dsqlenv", "proxy", name)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", name, st, err)
		}
	}
	if st, err := os.Stat(filepath.Join(state, "dsqlenv", "proxy")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("the proxy's state folder: %v %v", st, err)
	}
	for _, opts := range []string{"sslmode=require", "sslmode=verify-full sslrootcert=" + filepath.Join(state, "dsqlenv", "proxy", "localhost.crt")} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		conn, err := pgconn.Connect(ctx, "host=127.0.0.1 port="+port+" user=admin dbname=postgres password="+pw+" "+opts)
		cancel()
		if err != nil {
			t.Errorf("%s: %v", opts, err)
			continue
		}
		if _, ok := conn.Conn().(*tls.Conn); !ok {
			t.Errorf("%s: the connection is %T, not TLS", opts, conn.Conn())
		}
		conn.Close(context.Background())
	}
	sock := filepath.Join(runtime, "dsqlenv", "p")

	// 10,000 rows of 1,000 bytes: the COPY every client path must carry unchanged.
	copySQL := "copy (select i || repeat('x', 1000) from generate_series(1, 10000) i) to stdout"
	var want strings.Builder
	for i := 1; i <= 10000; i++ {
		fmt.Fprintf(&want, "%d%s\n", i, strings.Repeat("x", 1000))
	}
	for name, conninfo := range map[string]string{
		"socket": "host=" + sock + " user=admin dbname=postgres",
		"tcp":    "host=127.0.0.1 port=" + port + " user=admin dbname=postgres sslmode=disable password=" + pw,
	} {
		t.Run("pgx "+name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			conn, err := pgconn.Connect(ctx, conninfo)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			res, err := conn.Exec(ctx, "select current_user").ReadAll()
			if err != nil || len(res) != 1 || len(res[0].Rows) != 1 || string(res[0].Rows[0][0]) != "admin" {
				t.Fatalf("select current_user: %v %v", err, res)
			}
			var got bytes.Buffer
			if _, err := conn.CopyTo(ctx, &got, copySQL); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("COPY came back with %d bytes, want %d (or different bytes)", got.Len(), want.Len())
			}
		})
	}
	if err := pgconnWithPassword(port, "wrong"); err == nil || !strings.Contains(err.Error(), "28P01") {
		t.Errorf("pgx with a wrong local password: %v", err)
	}

	t.Run("node-postgres", func(t *testing.T) {
		node := testkit.RequireTool(t, "node")
		urls := []string{
			"postgresql:///postgres?host=" + url.QueryEscape(sock) + "&user=admin",
			"postgresql://admin:" + url.QueryEscape(pw) + "@127.0.0.1:" + port + "/postgres?sslmode=disable",
		}
		cmd := exec.Command(node, append([]string{filepath.Join("testdata", "clients", "pgconnect.js")}, urls...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NODE_PATH=" + testkit.NodeModules(t)}
		out, err := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err != nil || len(lines) != 2 {
			t.Fatalf("node: %v\n%s", err, out)
		}
		for i, l := range lines {
			if !strings.HasPrefix(l, "admin|") {
				t.Errorf("node-postgres %s: %s", urls[i], l)
			}
		}
	})

	t.Run("pgjdbc", func(t *testing.T) {
		javac, java := testkit.RequireTool(t, "javac"), testkit.RequireTool(t, "java")
		jar := testkit.PgJDBC(t)
		classes := t.TempDir()
		if out, err := exec.Command(javac, "-d", classes, filepath.Join("testdata", "clients", "JdbcConnect.java")).CombinedOutput(); err != nil {
			t.Fatalf("javac: %v\n%s", err, out)
		}
		jdbc := "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=admin&sslmode=disable&password=" + url.QueryEscape(pw)
		cmd := exec.Command(java, "-cp", classes+string(os.PathListSeparator)+jar, "JdbcConnect", jdbc, strings.Replace(jdbc, "password=", "password=x", 1))
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8"}
		out, err := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err != nil || len(lines) != 2 {
			t.Fatalf("java: %v\n%s", err, out)
		}
		if !strings.HasPrefix(lines[0], "admin|") {
			t.Errorf("pgjdbc: %s", lines[0])
		}
		if !strings.Contains(lines[1], "password authentication failed") {
			t.Errorf("pgjdbc with a wrong password: %s", lines[1])
		}
	})
	// pgx twice over TLS and twice without, node-postgres twice, pgjdbc once; the wrong local
	// passwords never reach it.
	if s := d.Stats(); s.Accepted != 7 || s.Refused != 0 {
		t.Errorf("the double accepted %d sessions and refused %d, want 7 and 0", s.Accepted, s.Refused)
	}
}

func pgconnWithPassword(port, pw string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, "host=127.0.0.1 port="+port+" user=admin dbname=postgres sslmode=disable password="+pw)
	if err == nil {
		conn.Close(ctx)
	}
	return err
}

// TestProxyUnderLoadLeavesNothingBehind: 200 sessions open at once through the proxy, then
// 1,000 connect and disconnect cycles; afterwards the proxy holds as many descriptors as
// before, and SIGTERM leaves no socket file.
func TestProxyUnderLoadLeavesNothingBehind(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	d, cfg := dsqlBehindProxy(t, "")
	runtime := t.TempDir()
	env := awsEnv(t, true, "XDG_RUNTIME_DIR="+runtime, "DSQLENV_CONFIG="+cfg)
	p := startProxy(t, env, 1, "--quiet", "p")
	sock := filepath.Join(runtime, "dsqlenv", "p")
	fds := func() int {
		entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	connect := func() (*pgconn.PgConn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		return pgconn.Connect(ctx, "host="+sock+" user=admin dbname=postgres")
	}
	before := fds()

	conns := make([]*pgconn.PgConn, 200)
	errs := make(chan error, len(conns))
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := connect()
			if err == nil {
				_, err = c.Exec(context.Background(), "select 1").ReadAll()
			}
			conns[i] = c
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("one of 200 concurrent sessions: %v", err)
		}
	}
	if n := fds(); n < before+200 {
		t.Errorf("%d descriptors with 200 sessions open, %d before: are they all through the proxy?", n, before)
	}
	for _, c := range conns {
		c.Close(context.Background())
	}

	jobs := make(chan int)
	cycleErr := make(chan error, 4)
	for range 4 {
		go func() {
			var first error
			for range jobs {
				c, err := connect()
				if err == nil {
					err = c.Close(context.Background())
				}
				if err != nil && first == nil {
					first = err
				}
			}
			cycleErr <- first
		}()
	}
	for i := range 1000 {
		jobs <- i
	}
	close(jobs)
	for range 4 {
		if err := <-cycleErr; err != nil {
			t.Fatalf("a connect and disconnect cycle: %v", err)
		}
	}
	if got := d.Stats().Accepted; got != 1200 {
		t.Errorf("the double accepted %d sessions, want 1,200", got)
	}
	n := fds()
	for deadline := time.Now().Add(30 * time.Second); n > before && time.Now().Before(deadline); n = fds() {
		time.Sleep(100 * time.Millisecond)
	}
	if n > before {
		t.Errorf("%d descriptors after 1,200 sessions ended, %d before", n, before)
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}
	if _, err := os.Lstat(filepath.Join(sock, ".s.PGSQL.5432")); err == nil {
		t.Error("the socket file outlived the proxy")
	}
}

// Where the proxy cannot check who connects to a Unix socket (the BSDs), it serves none: a
// socket there would let every local user in. Without --listen it refuses at once, saying
// why and what to give, and service --proxy (which writes socket sections) does too.
func TestProxyServesNoSocketWithoutAPeerCheck(t *testing.T) {
	for _, goos := range []string{"freebsd", "openbsd", "netbsd", "windows"} {
		e := testEnv(fixedMint)
		e.GOOS = goos
		r := runEnv(t, e, "-c", demoYAML, "proxy", "demo")
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "--listen 127.0.0.1:PORT") ||
			(goos != "windows" && !strings.Contains(r.stderr, "no Unix socket on "+goos)) {
			t.Errorf("proxy on %s without --listen: %+v", goos, r)
		}
		r = runEnv(t, e, "-c", demoYAML, "service", "--proxy", "--file", filepath.Join(t.TempDir(), "s.conf"), "demo")
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "host=127.0.0.1 port=PORT") {
			t.Errorf("service --proxy on %s: %+v", goos, r)
		}
	}
	for _, goos := range []string{"linux", "darwin"} {
		if !proxySockets(goos) {
			t.Errorf("no proxy socket on %s, which checks the peer", goos)
		}
	}
}

// TestProxyServesAdminer: a real GUI through the proxy. Adminer 4.8 (Debian's package, served
// by php -S, connecting with php's pgsql extension and the system's libpq) logs in over TCP
// with the local password and runs a query from its SQL command page, driven over HTTP as a
// browser would (a cookie jar, its login form, its CSRF token). Every page opens a new
// connection, so once the tokens minted at the login have expired by the double's clock, the
// next query still works: the proxy mints a fresh one. Over the socket, Adminer refuses an
// empty password and logs in with a dummy one, which the proxy does not ask for.
func TestProxyServesAdminer(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	php, adminer := testkit.Adminer(t)
	p := startTCPProxy(t, "12s") // its tokens expire during the test
	d := p.d
	pw, err := os.ReadFile(p.pwFile)
	if err != nil {
		t.Fatal(err)
	}
	web := startAdminer(t, php, adminer)

	// login posts Adminer's login form in a fresh browser session and returns the page it
	// lands on, and the session to go on with.
	login := func(server, password string) (*http.Client, string) {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 60 * time.Second}
		if _, err := adminerGet(c, web+"/"); err != nil { // the session cookie, as a browser gets it
			t.Fatal(err)
		}
		res, err := c.PostForm(web+"/", url.Values{"auth[driver]": {"pgsql"}, "auth[server]": {server},
			"auth[username]": {"admin"}, "auth[password]": {password}, "auth[db]": {"postgres"}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return c, string(body)
	}
	// query runs sql on Adminer's SQL command page of server and returns the result page.
	query := func(c *http.Client, server, sql string) string {
		t.Helper()
		page := web + "/?" + url.Values{"pgsql": {server}, "username": {"admin"}, "db": {"postgres"}, "ns": {"public"}, "sql": {""}}.Encode()
		form, err := adminerGet(c, page)
		if err != nil {
			t.Fatal(err)
		}
		tok := regexp.MustCompile(`name='token' value='([^']+)'`).FindStringSubmatch(form)
		if tok == nil {
			t.Fatalf("no CSRF token on the SQL command page:\n%s", form)
		}
		res, err := c.PostForm(page, url.Values{"query": {sql}, "limit": {""}, "token": {tok[1]}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return string(body)
	}
	answered := regexp.MustCompile(`<td>admin<td>42\b`)

	tcp := "127.0.0.1:" + p.port
	c, page := login(tcp, strings.TrimSpace(string(pw)))
	if !strings.Contains(page, "Logout") {
		t.Fatalf("Adminer's login over TCP with the local password did not log in:\n%s\nproxy:\n%s", page, p.log())
	}
	if page := query(c, tcp, "select current_user, 6*7 as answer"); !answered.MatchString(page) {
		t.Fatalf("Adminer's query over TCP:\n%s\nproxy:\n%s", page, p.log())
	}
	// Wait, on the real clock the proxy signs with, until every token minted so far has
	// expired by the double's (12 s, expires_in).
	var last time.Time
	for _, tk := range d.Stats().Tokens {
		info, err := profiles.ParseToken(tk)
		if err != nil {
			t.Fatal(err)
		}
		if info.ExpiresAt.After(last) {
			last = info.ExpiresAt
		}
	}
	time.Sleep(time.Until(last) + time.Second)
	if !d.Now().After(last) {
		t.Fatalf("the double's clock %s is not past the tokens' expiry %s", d.Now(), last)
	}
	before := d.Stats().Accepted
	if page := query(c, tcp, "select current_user, 6*7 as answer"); !answered.MatchString(page) || d.Stats().Accepted <= before {
		t.Errorf("Adminer's query after the login's tokens expired (%d new sessions at the double):\n%s\nproxy:\n%s", d.Stats().Accepted-before, page, p.log())
	}

	sock := p.sock
	if _, page := login(sock, ""); !strings.Contains(page, "Adminer does not support accessing a database without a password") {
		t.Errorf("Adminer over the socket with no password:\n%s", page)
	}
	c, page = login(sock, "dummy")
	if !strings.Contains(page, "Logout") {
		t.Fatalf("Adminer over the socket with a dummy password did not log in:\n%s\nproxy:\n%s", page, p.log())
	}
	if page := query(c, sock, "select current_user, 6*7 as answer"); !answered.MatchString(page) {
		t.Errorf("Adminer's query over the socket:\n%s", page)
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}
}

// tcpProxy is a proxy for profile p of dsqlBehindProxy, on its socket and on 127.0.0.1.
type tcpProxy struct {
	*proxyRun
	d      *testkit.DSQL
	port   string
	sock   string // the socket's directory
	pwFile string // the local password's file
}

func startTCPProxy(t *testing.T, expiresIn string) tcpProxy {
	t.Helper()
	d, cfg := dsqlBehindProxy(t, expiresIn)
	runtime, state := t.TempDir(), t.TempDir()
	env := awsEnv(t, true, "XDG_RUNTIME_DIR="+runtime, "XDG_STATE_HOME="+state, "PGPASSFILE="+filepath.Join(t.TempDir(), "pgpass"), "DSQLENV_CONFIG="+cfg)
	p := startProxy(t, env, 4, "--listen", "127.0.0.1:0", "p")
	m := tcpLine.FindStringSubmatch(p.log())
	if m == nil {
		t.Fatalf("start-up lines:\n%s", p.log())
	}
	return tcpProxy{proxyRun: p, d: d, port: m[1], sock: filepath.Join(runtime, "dsqlenv", "p"),
		pwFile: filepath.Join(state, "dsqlenv", "proxy", "p.password")}
}

// startAdminer serves Adminer with php's built-in web server on a free loopback port, its
// sessions in a directory of the test's, and returns its base URL once it answers.
func startAdminer(t *testing.T, php, script string) string {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(testkit.FreePort(t))
	cmd := exec.Command(php, "-d", "session.save_path="+t.TempDir(), "-S", addr, script)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	base := "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := adminerGet(&http.Client{Timeout: 60 * time.Second}, base+"/"); err == nil {
			return base
		} else if time.Now().After(deadline) {
			t.Fatalf("php -S %s did not answer in 60 s: %v\n%s", addr, err, log.String())
		}
	}
}

// adminerGet fetches a page and returns its body; a status other than 200 is an error.
func adminerGet(c *http.Client, page string) (string, error) {
	res, err := c.Get(page)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", page, res.Status)
	}
	return string(body), err
}

// TestProxyServesNodePostgresWithoutPgpass: the README's Node route, which node-postgres 8.23
// takes without its password-file support (deprecated, gone in pg 9): a pool on the socket's
// directory with no password, and one on TCP with the local password read from its file.
func TestProxyServesNodePostgresWithoutPgpass(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	node := testkit.RequireTool(t, "node")
	modules := testkit.NodeModules(t)
	p := startTCPProxy(t, "")
	script := `const pg = require('pg'), fs = require('fs');
(async () => {
  for (const where of [
    {host: process.env.SOCK},
    {host: '127.0.0.1', port: +process.env.PORT, password: fs.readFileSync(process.env.PWFILE, 'utf8').trim()},
  ]) {
    const pool = new pg.Pool({...where, user: 'admin', database: 'postgres', maxLifetimeSeconds: 3300});
    console.log((await pool.query('select current_user as u')).rows[0].u);
    await pool.end();
  }
})().catch(e => { console.error(e.message); process.exit(1); });`
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "-e", script)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NODE_PATH=" + modules, "PGPASSFILE=/nonexistent",
		"SOCK=" + p.sock, "PORT=" + p.port, "PWFILE=" + p.pwFile}
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "admin\nadmin\n" {
		t.Errorf("node-postgres through the proxy: %v\n%s\nproxy:\n%s", err, out, p.log())
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}
}

// TestProxyRunsOnOneP: the proxy runs its relay on one P unless GOMAXPROCS says otherwise.
// The runtime's own scheduler trace (GODEBUG=schedtrace) says how many Ps the process has
// once the proxy is up; the trace line printed at start shows the machine's count first.
func TestProxyRunsOnOneP(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  p:\n    endpoint: localhost\n    region: us-east-1\n")
	for _, tc := range []struct{ env, want string }{{"", "gomaxprocs=1 "}, {"GOMAXPROCS=3", "gomaxprocs=3 "}} {
		env := awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "XDG_RUNTIME_DIR="+t.TempDir(), "GODEBUG=schedtrace=50")
		if tc.env != "" {
			env = append(env, tc.env)
		}
		p := startProxy(t, env, 0, "p")
		ready, got := false, ""
		for deadline := time.After(60 * time.Second); got == ""; {
			select {
			case line := <-p.lines:
				if strings.Contains(line, `psql "host=`) {
					ready = true
				} else if _, rest, ok := strings.Cut(line, "SCHED "); ok && ready {
					got = rest
				}
			case <-p.done:
				t.Fatalf("%s: the proxy ended:\n%s", tc.env, p.log())
			case <-deadline:
				t.Fatalf("%s: no scheduler trace after the start-up line in 60 s:\n%s", tc.env, p.log())
			}
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: the proxy's scheduler says %q, want %q", tc.env, got, tc.want)
		}
		p.stop(t, syscall.SIGTERM)
	}
}
