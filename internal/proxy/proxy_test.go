package proxy

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

const (
	// token is what the test minter returns for tester: the role's password upstream,
	// standing in for an IAM token. It must never reach a client or a log line.
	token      = "tok-3f9a1c7e-SECRET-upstream"
	otherToken = "tok-other-SECRET-2"
	localPW    = "local-pw-8d2e"
)

// upstreamPG starts PostgreSQL 18 with TLS and the roles tester and other.
func upstreamPG(t *testing.T) *testkit.Postgres {
	t.Helper()
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18})
	pg.SetPassword(t, "tester", token)
	pg.SetPassword(t, "other", otherToken)
	return pg
}

// testMint returns each role's password; for user "minterr" it fails as the CLI's minter
// would with no credentials configured (the user's to fix), for "mintflaky" as with a
// network that does not answer (worth a retry).
func testMint(ctx context.Context, user string) (string, error) {
	switch user {
	case "tester":
		return token, nil
	case "other":
		return otherToken, nil
	case "wrongtoken":
		return "not-the-password", nil
	case "minterr":
		return "", UserError(errors.New("dsqlenv: AWS credentials for profile test: no credentials found; run `aws sso login --profile test`"))
	case "mintflaky":
		return "", errors.New("dsqlenv: profile test: cannot reach sts.us-east-1.amazonaws.com, for AWS profile test: check your network or VPN")
	}
	return "", fmt.Errorf("dsqlenv: no token for user %s in the tests", user)
}

// TestProxy runs the tests that need an upstream against one PostgreSQL 18, each with its own
// proxy: starting a server costs seconds on a loaded machine.
func TestProxy(t *testing.T) {
	pg := upstreamPG(t)
	for _, c := range []struct {
		name string
		test func(*testing.T, *testkit.Postgres)
	}{
		{"ConnectThroughSocketAndTCP", testConnectThroughSocketAndTCP},
		{"Protocol32ClientIsNegotiatedDown", testProtocol32ClientIsNegotiatedDown},
		{"LocalPassword", testLocalPassword},
		{"PeerUIDMismatch", testPeerUIDMismatch},
		{"PsqlThroughSocket", testPsqlThroughSocket},
		{"CancelReachesOnlyItsSession", testCancelReachesOnlyItsSession},
		{"UpstreamFailures", testUpstreamFailures},
		{"MaxSessions", testMaxSessions},
		{"HostileStartup", testHostileStartup},
		{"StartupDeadline", testStartupDeadline},
		{"PendingCap", testPendingCap},
		{"PreLoginLogLines", testPreLoginLogLines},
		{"ManySessionsLeaveNothingBehind", testManySessionsLeaveNothingBehind},
		{"Shutdown", testShutdown},
		{"ShutdownWaitsForSessions", testShutdownWaitsForSessions},
		{"DrainTellsOnlyIdleSessions", testDrainTellsOnlyIdleSessions},
		{"RatePacing", testRatePacing},
		{"CloseEndsAPacedWait", testCloseEndsAPacedWait},
		{"CancelIsPaced", testCancelIsPaced},
		{"EveryConnectionMintsAFreshToken", testEveryConnectionMintsAFreshToken},
		{"NodePostgres", testNodePostgres},
		{"EnvironmentDoesNotReachUpstream", testEnvironmentDoesNotReachUpstream},
		{"ShutdownDuringMint", testShutdownDuringMint},
		{"AccessDeniedNamesTheIAMAction", testAccessDeniedNamesTheIAMAction},
		// Warm sessions (warm_test.go), through the DSQL double in front of this server.
		{"WarmHandedOverWithoutUpstreamRoundTrips", testWarmHandOver},
		{"WarmReplacedPastWarmAge", testWarmAge},
		{"WarmEndedUpstreamIsNotHandedOver", testWarmEndedUpstream},
		{"WarmRespectsMaxSessions", testWarmMaxSessions},
		{"WarmDrainClosesAndStopsOpening", testWarmDrain},
		{"WarmBurstWaitsForSessionsBeingOpened", testWarmBurst},
		{"WarmWaiterThatLeavesGivesUpItsPlace", testWarmWaiterLeaves},
		{"WarmOpensAheadOfTheClientsRate", testWarmOpensAheadOfTheRate},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, pg) })
	}
}

type fixture struct {
	srv     *Server
	sockDir string // holds .s.PGSQL.5432
	tcp     string // host:port
	served  chan error

	mu   sync.Mutex
	logs []string
}

func (f *fixture) logLines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.logs...)
}

func upstreamOf(t *testing.T, pg *testkit.Postgres) Upstream {
	t.Helper()
	pem, err := os.ReadFile(pg.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("test CA does not parse")
	}
	return Upstream{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(pg.Port)), ServerName: "localhost",
		RootCAs: pool, RootsFile: pg.CAFile, Direct: true, Database: "postgres"}
}

// startProxy serves a proxy to up on a Unix socket and a loopback TCP port until the test ends.
func startProxy(t *testing.T, up Upstream, mod func(*Config)) *fixture {
	t.Helper()
	return startProxyWith(t, up, mod, nil)
}

// startProxyWith is startProxy with a change to the server before it serves.
func startProxyWith(t *testing.T, up Upstream, mod func(*Config), srvMod func(*Server)) *fixture {
	t.Helper()
	testkit.UnixOnly(t, "the fixture's clients connect through the proxy's Unix socket")
	f := &fixture{served: make(chan error, 2)}
	cfg := Config{Profile: "test", Upstream: up, Mint: testMint, Password: localPW, PeerUID: os.Getuid(),
		DialTimeout: 20 * time.Second,
		Log: func(line string) {
			f.mu.Lock()
			f.logs = append(f.logs, line)
			f.mu.Unlock()
		}}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	if srvMod != nil {
		srvMod(srv)
	}
	dir, err := os.MkdirTemp("", "dsqlenv-proxy-") // short: a socket path has ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o700)
	f.sockDir = dir
	uln, err := ListenUnix(filepath.Join(dir, ".s.PGSQL.5432"))
	if err != nil {
		t.Fatal(err)
	}
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.tcp = tln.Addr().String()
	go func() { f.served <- srv.Serve(uln) }()
	go func() { f.served <- srv.Serve(tln) }()
	t.Cleanup(func() {
		srv.Close()
		for range 2 {
			select {
			case err := <-f.served:
				if err != nil {
					t.Errorf("Serve returned %v after Close", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("Serve did not return after Close")
			}
		}
		os.RemoveAll(dir)
	})
	return f
}

func (f *fixture) unixConn(user string) string {
	return fmt.Sprintf("host=%s port=5432 user=%s dbname=postgres sslmode=disable connect_timeout=30", f.sockDir, user)
}

func (f *fixture) tcpConn(user, password string) string {
	host, port, _ := net.SplitHostPort(f.tcp)
	return fmt.Sprintf("host=%s port=%s user=%s password='%s' dbname=postgres sslmode=prefer connect_timeout=30", host, port, user, password)
}

func connect(t *testing.T, connString string) (*pgconn.PgConn, error) {
	t.Helper()
	cfg, err := pgconn.ParseConfig(connString)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return pgconn.ConnectConfig(ctx, cfg)
}

func mustConnect(t *testing.T, connString string) *pgconn.PgConn {
	t.Helper()
	c, err := connect(t, connString)
	if err != nil {
		t.Fatalf("connecting through the proxy (%s): %v", connString, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func query1(t *testing.T, c *pgconn.PgConn, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res := c.ExecParams(ctx, sql, nil, nil, nil, nil).Read()
	if res.Err != nil {
		t.Fatalf("%s: %v", sql, res.Err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		t.Fatalf("%s: %d rows", sql, len(res.Rows))
	}
	return string(res.Rows[0][0])
}

// wantPgError checks that err is a PostgreSQL error with that SQLSTATE whose message holds
// every one of parts, and returns it.
func wantPgError(t *testing.T, err error, code string, parts ...string) *pgconn.PgError {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v; want an ErrorResponse with SQLSTATE %s", err, code)
	}
	if pe.Code != code {
		t.Errorf("got SQLSTATE %s (%s); want %s", pe.Code, pe.Message, code)
	}
	for _, p := range parts {
		if !strings.Contains(pe.Message, p) {
			t.Errorf("message %q does not mention %q", pe.Message, p)
		}
	}
	for _, secret := range []string{token, otherToken, localPW} {
		if strings.Contains(pe.Message+pe.Detail+pe.Hint, secret) {
			t.Errorf("an error to the client holds a secret: %+v", pe)
		}
	}
	return pe
}

func noSecrets(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, secret := range []string{token, otherToken, localPW} {
			if strings.Contains(s, secret) {
				t.Errorf("%s holds a secret: %q", what, s)
			}
		}
	}
}

func testConnectThroughSocketAndTCP(t *testing.T, pg *testkit.Postgres) {
	f := startProxy(t, upstreamOf(t, pg), func(c *Config) {
		c.Upstream.ApplicationName = "from-profile"
		c.Upstream.Options = "-c search_path=profile_path"
	})

	for _, c := range []struct{ name, conn, user string }{
		{"unix", f.unixConn("tester"), "tester"},
		{"tcp", f.tcpConn("tester", localPW), "tester"},
		{"unix other role", f.unixConn("other"), "other"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := mustConnect(t, c.conn)
			if got := query1(t, conn, "select current_user"); got != c.user {
				t.Errorf("current_user = %q; want %q", got, c.user)
			}
			// The upstream session is TLS, though the local leg is not.
			if got := query1(t, conn, "select ssl::text from pg_stat_ssl where pid = pg_backend_pid()"); got != "true" {
				t.Errorf("upstream ssl = %q", got)
			}
			if got := query1(t, conn, "select current_setting('application_name') || ' ' || current_setting('search_path')"); got != "from-profile profile_path" {
				t.Errorf("application_name and search_path = %q; want the profile's defaults", got)
			}
			var ps []string
			for _, k := range []string{"server_version", "client_encoding", "application_name", "session_authorization"} {
				v := conn.ParameterStatus(k)
				if v == "" && k != "application_name" {
					t.Errorf("ParameterStatus %s missing", k)
				}
				ps = append(ps, v)
			}
			noSecrets(t, "a ParameterStatus", ps...)
			// The backend key is the proxy's own, not the upstream's.
			if pid := query1(t, conn, "select pg_backend_pid()"); pid == strconv.Itoa(int(conn.PID())) {
				t.Errorf("the client got the upstream's pid %s", pid)
			}
		})
	}

	// Nothing a client receives holds the token: record every byte of a whole session.
	rec := &recorder{}
	cfg, err := pgconn.ParseConfig(f.tcpConn("tester", localPW))
	if err != nil {
		t.Fatal(err)
	}
	dial := cfg.DialFunc
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &recordingConn{Conn: c, rec: rec}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Exec(ctx, "select current_user, session_user, version(); show all").ReadAll(); err != nil {
		t.Fatal(err)
	}
	rc.Close(ctx)
	if got := rec.String(); !strings.Contains(got, "tester") || strings.Contains(got, token) {
		t.Errorf("what the client received (%d bytes) holds the token, or no session", len(got))
	}

	// Without a database the profile's is used (PostgreSQL's own default, the user name,
	// would fail: there is no database tester).
	conn := mustConnect(t, strings.Replace(f.unixConn("tester"), "dbname=postgres ", "", 1))
	if got := query1(t, conn, "select current_database()"); got != "postgres" {
		t.Errorf("current_database() = %q; want the profile's postgres", got)
	}
	conn.Close(context.Background())

	// A client's own startup parameters win over the profile's.
	conn = mustConnect(t, f.unixConn("tester")+" application_name=mine options='-c search_path=abc'")
	if got := query1(t, conn, "select current_setting('application_name') || ' ' || current_setting('search_path')"); got != "mine abc" {
		t.Errorf("client parameters: got %q", got)
	}
	conn.Close(context.Background())

	// One log line per session, naming profile, user and how it ended; never a secret.
	deadline := time.Now().Add(20 * time.Second)
	for len(f.logLines()) < 4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	lines := f.logLines()
	if len(lines) < 1 {
		t.Fatal("no log lines")
	}
	noSecrets(t, "a log line", lines...)
	found := false
	for _, l := range lines {
		if strings.Contains(l, "profile=test") && strings.Contains(l, `user="tester"`) && strings.Contains(l, `end="client closed"`) && strings.Contains(l, "bytes_in=") {
			found = true
		}
	}
	if !found {
		t.Errorf("no log line for a closed tester session in %q", lines)
	}
}

func testProtocol32ClientIsNegotiatedDown(t *testing.T, pg *testkit.Postgres) {
	f := startProxy(t, upstreamOf(t, pg), nil)
	conn := mustConnect(t, f.unixConn("tester")+" max_protocol_version=3.2")
	if got := query1(t, conn, "select current_user"); got != "tester" {
		t.Errorf("current_user = %q", got)
	}
}

func testLocalPassword(t *testing.T, pg *testkit.Postgres) {
	f := startProxy(t, upstreamOf(t, pg), nil)

	_, err := connect(t, f.tcpConn("tester", "wrong"))
	wantPgError(t, err, "28P01", `password authentication failed for user "tester"`)
	// The upstream token is no local password.
	_, err = connect(t, f.tcpConn("tester", token))
	wantPgError(t, err, "28P01", "password authentication failed")
	// pgconn without a password still answers SCRAM (with an empty one).
	_, err = connect(t, f.tcpConn("tester", ""))
	wantPgError(t, err, "28P01", `password authentication failed for user "tester"`)
	// The right one works, and the socket needs none.
	mustConnect(t, f.tcpConn("tester", localPW))
	mustConnect(t, f.unixConn("tester"))
}

func testPeerUIDMismatch(t *testing.T, pg *testkit.Postgres) {
	f := startProxy(t, upstreamOf(t, pg), func(c *Config) { c.PeerUID = os.Getuid() + 1 })
	_, err := connect(t, f.unixConn("tester"))
	wantPgError(t, err, "28000", fmt.Sprintf("peer UID %d", os.Getuid()))
}

func testPsqlThroughSocket(t *testing.T, pg *testkit.Postgres) {
	f := startProxy(t, upstreamOf(t, pg), nil)
	for _, libpq := range []int{18, 15} {
		path, env := testkit.PsqlWithLibpq(t, libpq)
		for _, c := range []struct {
			name, conninfo string
			env            []string
		}{
			{"socket", fmt.Sprintf("host=%s port=5432 user=tester dbname=postgres", f.sockDir), nil},
			{"tcp", strings.Replace(f.tcpConn("tester", ""), "password='' ", "", 1), []string{"PGPASSWORD=" + localPW}},
			// libpq 18 asks for protocol 3.2 and takes 3.0 (libpq 15 ignores the variable).
			{"socket, protocol 3.2", fmt.Sprintf("host=%s port=5432 user=tester dbname=postgres", f.sockDir), []string{"PGMAXPROTOCOLVERSION=latest"}},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			cmd := exec.CommandContext(ctx, path, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", c.conninfo, "-c", "select current_user, 1+1")
			cmd.Env = append(append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...), c.env...)
			out, err := cmd.CombinedOutput()
			cancel()
			if got := strings.TrimSpace(string(out)); err != nil || got != "tester|2" {
				t.Errorf("psql with libpq %d through the %s: %q, %v", libpq, c.name, got, err)
			}
		}
	}
}

// activeSleeps counts upstream backends running a query with that marker.
func activeSleeps(t *testing.T, pg *testkit.Postgres, marker string) int {
	t.Helper()
	out := pg.SQL(t, fmt.Sprintf("select count(*) from pg_stat_activity where state = 'active' and query like '%%%s%%' and pid <> pg_backend_pid()", marker))
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("pg_stat_activity: %q", out)
	}
	return n
}

func waitActive(t *testing.T, pg *testkit.Postgres, marker string, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := activeSleeps(t, pg, marker)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d active queries marked %s; want %d", n, marker, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func testCancelReachesOnlyItsSession(t *testing.T, pg *testkit.Postgres) {
	f := startProxy(t, upstreamOf(t, pg), nil)
	a := mustConnect(t, f.unixConn("tester"))
	b := mustConnect(t, f.tcpConn("tester", localPW))

	type result struct {
		err  error
		took time.Duration
	}
	run := func(c *pgconn.PgConn, marker string) chan result {
		ch := make(chan result, 1)
		go func() {
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			_, err := c.Exec(ctx, "select pg_sleep(30) -- "+marker).ReadAll()
			ch <- result{err, time.Since(start)}
		}()
		return ch
	}
	ra, rb := run(a, "sleep_a"), run(b, "sleep_b")
	waitActive(t, pg, "sleep_a", 1)
	waitActive(t, pg, "sleep_b", 1)

	// A cancel request with a's pid and a wrong secret, or an unknown key, cancels nothing.
	for _, key := range [][2]uint32{{a.PID(), binary.BigEndian.Uint32(a.SecretKey()) ^ 1}, {12345, 678}} {
		sendCancel(t, f.tcp, key[0], key[1])
	}
	time.Sleep(500 * time.Millisecond)
	if n := activeSleeps(t, pg, "sleep_a"); n != 1 {
		t.Errorf("a forged cancel request stopped session a")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.CancelRequest(ctx); err != nil {
		t.Fatalf("CancelRequest: %v", err)
	}
	select {
	case r := <-ra:
		wantPgError(t, r.err, "57014")
		if r.took > 20*time.Second {
			t.Errorf("the cancelled query took %v", r.took)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("the query was not cancelled")
	}
	// b still runs; its own key cancels it.
	if n := activeSleeps(t, pg, "sleep_b"); n != 1 {
		t.Fatalf("session b stopped with a's cancel request (%d active)", n)
	}
	select {
	case r := <-rb:
		t.Fatalf("session b ended: %v", r.err)
	default:
	}
	if err := b.CancelRequest(ctx); err != nil {
		t.Fatalf("CancelRequest b: %v", err)
	}
	select {
	case r := <-rb:
		wantPgError(t, r.err, "57014")
	case <-time.After(25 * time.Second):
		t.Fatal("session b was not cancelled")
	}
	// Both sessions go on.
	if got := query1(t, a, "select 'a'"); got != "a" {
		t.Errorf("a after cancel: %q", got)
	}
}

// sendCancel sends a CancelRequest with that key to the proxy over TCP and waits for the close.
func sendCancel(t *testing.T, addr string, pid, secret uint32) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var s [4]byte
	binary.BigEndian.PutUint32(s[:], secret)
	buf, _ := (&pgproto3.CancelRequest{ProcessID: pid, SecretKey: s[:]}).Encode(nil)
	c.Write(buf)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	io.Copy(io.Discard, c)
}

func testUpstreamFailures(t *testing.T, pg *testkit.Postgres) {
	good := upstreamOf(t, pg)

	t.Run("mint error, then the next client connects", func(t *testing.T) {
		f := startProxy(t, good, nil)
		_, err := connect(t, f.unixConn("minterr"))
		wantPgError(t, err, "28000", "dsqlenv: AWS credentials for profile test: no credentials found; run `aws sso login --profile test`")
		// Any other failure to mint is 08001, which drivers and pools retry.
		_, err = connect(t, f.unixConn("mintflaky"))
		wantPgError(t, err, "08001", "cannot reach sts.us-east-1.amazonaws.com")
		mustConnect(t, f.unixConn("tester"))
	})

	t.Run("upstream errors pass through unchanged", func(t *testing.T) {
		f := startProxy(t, good, nil)
		_, err := connect(t, f.unixConn("wrongtoken"))
		pe := wantPgError(t, err, "28P01", `password authentication failed for user "wrongtoken"`)
		if pe.Severity != "FATAL" {
			t.Errorf("severity %q", pe.Severity)
		}
		_, err = connect(t, strings.Replace(f.unixConn("tester"), "dbname=postgres", "dbname=nosuchdb", 1))
		wantPgError(t, err, "3D000", `database "nosuchdb" does not exist`)
		mustConnect(t, f.unixConn("tester"))
	})

	t.Run("upstream down", func(t *testing.T) {
		down := good
		down.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(testkit.FreePort(t)))
		f := startProxy(t, down, nil)
		for range 2 { // and the proxy stays up
			_, err := connect(t, f.unixConn("tester"))
			wantPgError(t, err, "08006", down.Addr, "profile test")
		}
	})

	t.Run("wrong CA", func(t *testing.T) {
		other := testkit.NewCA(t, "another CA")
		bad := good
		bad.RootCAs = x509.NewCertPool()
		bad.RootCAs.AddCert(other.Cert)
		bad.RootsFile = "/etc/dsqlenv-test/wrong-roots.pem"
		f := startProxy(t, bad, nil)
		_, err := connect(t, f.unixConn("tester"))
		wantPgError(t, err, "08006", bad.RootsFile, "localhost", bad.Addr)
	})

	t.Run("wrong server name", func(t *testing.T) {
		bad := good
		bad.ServerName = "cluster.example.com"
		f := startProxy(t, bad, nil)
		_, err := connect(t, f.unixConn("tester"))
		wantPgError(t, err, "08006", "cluster.example.com", good.RootsFile)
	})

	t.Run("SSLRequest negotiation", func(t *testing.T) {
		pg15 := testkit.StartPostgres(t)
		pg15.SetPassword(t, "tester", token)
		up := upstreamOf(t, pg15)
		up.Direct = false
		f := startProxy(t, up, nil)
		conn := mustConnect(t, f.unixConn("tester"))
		if got := query1(t, conn, "select current_setting('server_version_num')::int / 10000"); got != "15" {
			t.Errorf("server version %s", got)
		}
		// A cancel request goes upstream the same way, after an SSLRequest.
		errc := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			_, err := conn.Exec(ctx, "select pg_sleep(30) -- sleep15").ReadAll()
			errc <- err
		}()
		waitActive(t, pg15, "sleep15", 1)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := conn.CancelRequest(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errc:
			wantPgError(t, err, "57014")
		case <-time.After(25 * time.Second):
			t.Fatal("the query on PostgreSQL 15 was not cancelled")
		}
	})
}

func testMaxSessions(t *testing.T, pg *testkit.Postgres) {
	f := startProxy(t, upstreamOf(t, pg), func(c *Config) { c.MaxSessions = 1 })
	// A TCP client that never finishes SCRAM does not take the one session.
	stuck, err := net.Dial("tcp", f.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	stuck.Write(startupPacket(3<<16, "user", "tester"))
	stuck.SetReadDeadline(time.Now().Add(30 * time.Second))
	if b := make([]byte, 1); func() error { _, err := io.ReadFull(stuck, b); return err }() != nil || b[0] != 'R' {
		t.Fatal("no authentication request for the stuck client")
	}
	first := mustConnect(t, f.unixConn("tester"))
	_, err = connect(t, f.unixConn("tester"))
	wantPgError(t, err, "53300", "too many sessions for profile test (max 1)")
	if n := f.srv.Sessions(); n != 1 {
		t.Errorf("Sessions() = %d; want 1", n)
	}
	first.Close(context.Background())
	deadline := time.Now().Add(20 * time.Second)
	for f.srv.Sessions() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	mustConnect(t, f.unixConn("tester"))
}

// rawStartup sends bytes as a client's first packet and returns the first ErrorResponse the
// proxy sends back, or nil when it closes without one.
func rawStartup(t *testing.T, addr string, data []byte) *pgproto3.ErrorResponse {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(data)
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	reply, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the reply to % x: %v (the proxy should answer or close)", data[:min(len(data), 16)], err)
	}
	for len(reply) >= 5 {
		n := int(binary.BigEndian.Uint32(reply[1:5]))
		if n < 4 || 1+n > len(reply) {
			break
		}
		if reply[0] == 'E' {
			var e pgproto3.ErrorResponse
			if err := e.Decode(reply[5 : 1+n]); err != nil {
				t.Fatalf("bad ErrorResponse: %v", err)
			}
			return &e
		}
		reply = reply[1+n:]
	}
	return nil
}

func startupPacket(version uint32, params ...string) []byte {
	b := []byte{0, 0, 0, 0}
	b = binary.BigEndian.AppendUint32(b, version)
	for _, p := range params {
		b = append(append(b, p...), 0)
	}
	b = append(b, 0)
	binary.BigEndian.PutUint32(b, uint32(len(b)))
	return b
}

func testHostileStartup(t *testing.T, pg *testkit.Postgres) {
	f := startProxy(t, upstreamOf(t, pg), nil)
	for _, c := range []struct {
		name string
		data []byte
		code string // "" : closing without an answer is fine
	}{
		{"protocol 4.0", startupPacket(4<<16, "user", "tester"), "0A000"},
		{"protocol 2.0", startupPacket(2<<16, "user", "tester"), "0A000"},
		{"HTTP", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "08P01"},
		{"huge length", []byte{0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0}, "08P01"},
		{"negative length", []byte{0xff, 0xff, 0xff, 0xf0, 0, 3, 0, 0}, "08P01"},
		{"TLS ClientHello", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}, "08P01"},
		{"no user", startupPacket(3<<16, "database", "postgres"), "28000"},
		{"unterminated parameters", []byte{0, 0, 0, 12, 0, 3, 0, 0, 'u', 's', 'e', 'r'}, "08P01"},
		{"short packet then close", []byte{0, 0, 0, 40, 0, 3, 0, 0}, ""},
		{"bad SCRAM", append(startupPacket(3<<16, "user", "tester"), 'p', 0, 0, 0, 9, 'x', 'y', 'z', 0, 0), "08P01"},
	} {
		e := rawStartup(t, f.tcp, c.data)
		switch {
		case c.code == "" && e != nil:
			t.Errorf("%s: got %s %s; want a plain close", c.name, e.Code, e.Message)
		case c.code != "" && e == nil:
			t.Errorf("%s: closed without an ErrorResponse; want %s", c.name, c.code)
		case c.code != "" && e.Code != c.code:
			t.Errorf("%s: got %s %q; want %s", c.name, e.Code, e.Message, c.code)
		}
	}
	// A client that sends nothing is dropped at the startup deadline; the proxy still serves.
	mustConnect(t, f.tcpConn("tester", localPW))
}

func testStartupDeadline(t *testing.T, pg *testkit.Postgres) {
	f := startProxyWith(t, upstreamOf(t, pg), nil, func(s *Server) { s.startupTimeout = 500 * time.Millisecond })
	c, err := net.Dial("unix", filepath.Join(f.sockDir, ".s.PGSQL.5432"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0, 0, 0, 9}) // and nothing more
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("the proxy did not drop a silent client: %v", err)
	}
}

// testPendingCap: connections that have not finished the local login are capped; one beyond
// the cap is closed at once (and logged), one that logged in no longer counts, and one that
// leaves gives its place back.
func testPendingCap(t *testing.T, pg *testkit.Postgres) {
	f := startProxyWith(t, upstreamOf(t, pg), func(c *Config) { c.MaxPending = 3 },
		func(s *Server) { s.startupTimeout = 10 * time.Minute }) // only the cap may close them
	waitPending := func(want int64) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); f.srv.pending.Load() != want; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d connections before their login, want %d", f.srv.pending.Load(), want)
			}
		}
	}
	session := mustConnect(t, f.tcpConn("tester", localPW)) // logged in: not counted
	defer session.Close(context.Background())
	var idle []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", f.tcp)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	waitPending(3)
	beyond, err := net.Dial("tcp", f.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer beyond.Close()
	// Closed at once, not at the startup deadline, which is minutes away.
	beyond.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := beyond.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a connection beyond the cap: %d bytes, %v; want it closed at once", n, err)
	}
	if logs := strings.Join(f.logLines(), "\n"); !strings.Contains(logs, "closed at once: 3 connections have not finished the local login") {
		t.Errorf("no line for the closed connection:\n%s", logs)
	}
	// pgconn's sslmode=prefer takes two connections, one after the other.
	idle[0].Close()
	idle[1].Close()
	waitPending(1)
	c := mustConnect(t, f.tcpConn("tester", localPW))
	c.Close(context.Background())
	waitPending(1)
}

// testPreLoginLogLines: connections refused before their login, with a huge user name, write
// a bounded number of short lines; the next period's line says how many were left out; a
// session that logged in is always logged.
func testPreLoginLogLines(t *testing.T, pg *testkit.Postgres) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := startProxyWith(t, upstreamOf(t, pg), nil, func(s *Server) {
		s.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	seen := func() int {
		f.srv.preLogin.mu.Lock()
		defer f.srv.preLogin.mu.Unlock()
		return f.srv.preLogin.passed + f.srv.preLogin.dropped
	}
	waitSeen := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); seen() < want; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d connections logged or left out, want %d", seen(), want)
			}
		}
	}
	long := strings.Repeat("\x1b[2J", 4400/4)
	const n = 3 * preLoginLines
	for range n { // a wrong SCRAM message: refused before the login
		if e := rawStartup(t, f.tcp, append(startupPacket(3<<16, "user", long), 'p', 0, 0, 0, 9, 'x', 'y', 'z', 0, 0)); e == nil || e.Code != "08P01" {
			t.Fatalf("a bad SCRAM message: %v", e)
		}
	}
	waitSeen(n)
	mustConnect(t, f.tcpConn("tester", localPW)).Close(context.Background())
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	rawStartup(t, f.tcp, startupPacket(3<<16, "user", long))
	for deadline := time.Now().Add(30 * time.Second); len(f.logLines()) < preLoginLines+2 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	lines := f.logLines()
	if len(lines) != preLoginLines+2 {
		t.Fatalf("%d log lines for %d refused connections, one session and one more refusal, want %d:\n%s", len(lines), n, preLoginLines+2, strings.Join(lines, "\n"))
	}
	loggedIn, leftOut := 0, 0
	for _, l := range lines {
		if len(l) > 600 || strings.Contains(l, "\x1b") {
			t.Errorf("a line of %d bytes, or with an ESC: %.200q", len(l), l)
		}
		if strings.Contains(l, `user="tester"`) {
			loggedIn++
		}
		if strings.Contains(l, fmt.Sprintf("(and %d more such lines left out)", n-preLoginLines)) && strings.Contains(l, `…"`) {
			leftOut++
		}
	}
	if loggedIn != 1 || leftOut != 1 {
		t.Errorf("%d session lines, %d lines saying how many were left out, want 1 each:\n%s", loggedIn, leftOut, strings.Join(lines, "\n"))
	}
}

func testManySessionsLeaveNothingBehind(t *testing.T, pg *testkit.Postgres) {
	baseline := runtime.NumGoroutine()
	f := startProxy(t, upstreamOf(t, pg), nil)
	for i := range 200 {
		conn := f.unixConn("tester")
		if i%2 == 1 {
			conn = f.tcpConn("tester", localPW)
		}
		c := mustConnect(t, conn)
		if i%20 == 0 {
			query1(t, c, "select 1")
		}
		c.Close(context.Background())
	}
	// Some sessions still open at Close.
	for range 3 {
		mustConnect(t, f.unixConn("tester"))
	}
	sock := filepath.Join(f.sockDir, ".s.PGSQL.5432")
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v %v", fi, err)
	}
	f.srv.Close()
	if n := f.srv.Sessions(); n != 0 {
		t.Errorf("Sessions() = %d after Close", n)
	}
	for range 2 {
		select {
		case err := <-f.served:
			f.served <- err // for the cleanup
		case <-time.After(30 * time.Second):
			t.Fatal("Serve did not return")
		}
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket file left behind: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() > baseline+2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	// Serve's two goroutines have returned; +2 allows for runtime helpers that come and go.
	if n := runtime.NumGoroutine(); n > baseline+2 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after Close; %d before the proxy:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
	if got := len(f.logLines()); got < 200 {
		t.Errorf("%d log lines for 203 sessions", got)
	}
}

func testShutdown(t *testing.T, pg *testkit.Postgres) {
	f := startProxy(t, upstreamOf(t, pg), nil)
	c := mustConnect(t, f.unixConn("tester"))

	// A session open past the deadline is closed.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := f.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with an open session: %v; want DeadlineExceeded", err)
	}
	qctx, qcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer qcancel()
	if err := c.Exec(qctx, "select 1").Close(); err == nil {
		t.Error("the session survived Shutdown")
	}
	if _, err := connect(t, f.unixConn("tester")); err == nil {
		t.Error("connected after Shutdown")
	}
	for range 2 {
		select {
		case err := <-f.served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
			f.served <- nil
		case <-time.After(30 * time.Second):
			t.Fatal("Serve did not return after Shutdown")
		}
	}
}

func testShutdownWaitsForSessions(t *testing.T, pg *testkit.Postgres) {
	f := startProxy(t, upstreamOf(t, pg), nil)
	c := mustConnect(t, f.unixConn("tester"))
	done := make(chan error, 1)
	go func() { done <- f.srv.Shutdown(context.Background()) }()
	// The open session keeps working while Shutdown waits.
	time.Sleep(200 * time.Millisecond)
	if got := query1(t, c, "select 'still here'"); got != "still here" {
		t.Errorf("got %q", got)
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) with a session open", err)
	default:
	}
	c.Close(context.Background())
	waitShutdown(t, done)
}

// waitShutdown waits for the Shutdown that reports on done to return nil, once the last
// session has ended.
func waitShutdown(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown did not return after the last session ended")
	}
}

func testRatePacing(t *testing.T, pg *testkit.Postgres) {
	f := startProxy(t, upstreamOf(t, pg), func(c *Config) { c.Rate, c.Burst = 4, 1 })
	start := time.Now()
	for range 5 {
		mustConnect(t, f.unixConn("tester")).Close(context.Background())
	}
	// One at once, then four at 4/s: at least a second, however fast the machine.
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("5 connections at 4/s took %v", took)
	}
}

func testCloseEndsAPacedWait(t *testing.T, pg *testkit.Postgres) {
	f := startProxy(t, upstreamOf(t, pg), func(c *Config) { c.Rate, c.Burst = 0.001, 1 })
	mustConnect(t, f.unixConn("tester"))
	errc := make(chan error, 1)
	go func() {
		_, err := connect(t, f.unixConn("tester"))
		errc <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for f.srv.Sessions() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := f.srv.Sessions(); n != 2 {
		t.Fatalf("Sessions() = %d; want the second waiting", n)
	}
	closed := make(chan struct{})
	go func() { f.srv.Close(); close(closed) }()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("the paced client connected")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the paced client still waits after Close")
	}
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return")
	}
}

// testCancelIsPaced: a cancel request opens an upstream connection, so it waits for the
// pacing like a new session: with the one connection of the burst spent, it waits and the
// query goes on.
func testCancelIsPaced(t *testing.T, pg *testkit.Postgres) {
	f := startProxy(t, upstreamOf(t, pg), func(c *Config) { c.Rate, c.Burst = 0.001, 1 })
	conn := mustConnect(t, f.unixConn("tester"))
	go conn.Exec(context.Background(), "select pg_sleep(60) -- pacedcancel").ReadAll()
	waitActive(t, pg, "pacedcancel", 1)
	go conn.CancelRequest(context.Background())
	waiting := func() bool {
		f.srv.limiter.mu.Lock()
		defer f.srv.limiter.mu.Unlock()
		return f.srv.limiter.tokens < 0
	}
	for deadline := time.Now().Add(30 * time.Second); !waiting(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the cancel request is not waiting for the pacing (%d queries still sleep)", activeSleeps(t, pg, "pacedcancel"))
		}
	}
	if n := activeSleeps(t, pg, "pacedcancel"); n != 1 {
		t.Errorf("%d queries sleep while the cancel waits, want 1", n)
	}
}

// TestNoBackendKeyDataWithoutUpstreamKey: an upstream that sends no BackendKeyData gets its
// client none either: the proxy has no key of its own to map a cancel to.
func TestNoBackendKeyDataWithoutUpstreamKey(t *testing.T) {
	f := startProxy(t, fakeUpstream(t, ready), nil)
	seen := receiveUntil[*pgproto3.ReadyForQuery](t, rawClient(t, f))
	if got := strings.Join(seen, " "); got != "*pgproto3.AuthenticationOk *pgproto3.ParameterStatus *pgproto3.ReadyForQuery" {
		t.Errorf("the client got %s", got)
	}
}

type recorder struct {
	mu  sync.Mutex
	buf []byte
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.buf)
}

// recordingConn keeps every byte read from the connection.
type recordingConn struct {
	net.Conn
	rec *recorder
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.rec.mu.Lock()
	c.rec.buf = append(c.rec.buf, p[:n]...)
	c.rec.mu.Unlock()
	return n, err
}

// testEveryConnectionMintsAFreshToken checks the point of the proxy: each new upstream
// connection, psql's \connect included, gets a token minted for it, for the user asked for,
// with a deadline.
func testEveryConnectionMintsAFreshToken(t *testing.T, pg *testkit.Postgres) {
	var mu sync.Mutex
	var mints []string
	f := startProxy(t, upstreamOf(t, pg), func(c *Config) {
		c.Mint = func(ctx context.Context, user string) (string, error) {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("Mint without a deadline")
			}
			mu.Lock()
			mints = append(mints, user)
			mu.Unlock()
			return testMint(ctx, user)
		}
	})
	for _, user := range []string{"tester", "other", "tester"} {
		mustConnect(t, f.unixConn(user)).Close(context.Background())
	}
	path, env := testkit.PsqlWithLibpq(t, 18)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", fmt.Sprintf("host=%s port=5432 user=tester dbname=postgres", f.sockDir),
		"-c", "select 1", "-c", `\connect - other`, "-c", "select current_user")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	out, err := cmd.CombinedOutput()
	if got := strings.Fields(string(out)); err != nil || len(got) < 2 || got[len(got)-1] != "other" {
		t.Errorf("psql with \\connect: %q, %v", out, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := "tester other tester tester other"; strings.Join(mints, " ") != want {
		t.Errorf("minted for %q; want %q", mints, want)
	}
}

// testNodePostgres connects node-postgres (its own SCRAM client) over TCP with the local
// password, and over the socket.
func testNodePostgres(t *testing.T, pg *testkit.Postgres) {
	node := testkit.RequireTool(t, "node")
	modules := testkit.NodeModules(t)
	f := startProxy(t, upstreamOf(t, pg), nil)
	host, port, _ := net.SplitHostPort(f.tcp)
	script := `const { Client } = require('pg');
const [host, port, password, sockDir] = process.argv.slice(1); // node -e: no script name
(async () => {
  const out = [];
  for (const cfg of [
    { host, port: +port, password },
    { host: sockDir, port: 5432 },
  ]) {
    const c = new Client({ ...cfg, user: 'tester', database: 'postgres' });
    await c.connect();
    const r = await c.query('select current_user as u');
    out.push(r.rows[0].u);
    await c.end();
  }
  const bad = new Client({ host, port: +port, password: 'wrong', user: 'tester', database: 'postgres' });
  try { await bad.connect(); out.push('wrong password connected'); } catch (e) { out.push(e.code); }
  console.log(out.join(' '));
})().catch(e => { console.error(e); process.exit(1); });
`
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "-e", script, "--", host, port, localPW, f.sockDir)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "NODE_PATH=" + modules, "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if got := strings.TrimSpace(string(out)); err != nil || got != "tester tester 28P01" {
		t.Errorf("node-postgres: %q, %v; want tester tester 28P01\nproxy log: %q", got, err, f.logLines())
	}
}

// testEnvironmentDoesNotReachUpstream starts the proxy with PG* variables that would break or
// bend a pgconn connection; the upstream connection is the profile's alone.
func testEnvironmentDoesNotReachUpstream(t *testing.T, pg *testkit.Postgres) {
	env := map[string]string{
		"PGSSLROOTCERT": "/nonexistent/root.crt", "PGSSLCERT": "/nonexistent/client.crt", "PGSSLKEY": "/nonexistent/client.key",
		"PGSSLMODE": "verify-ca", "PGREQUIREAUTH": "bogus", "PGMAXPROTOCOLVERSION": "9.9", "PGMINPROTOCOLVERSION": "bogus",
		"PGTARGETSESSIONATTRS": "bogus", "PGCHANNELBINDING": "bogus", "PGOPTIONS": "-c search_path=from_env",
		"PGAPPNAME": "from_env", "PGCONNECT_TIMEOUT": "bogus", "PGSSLNEGOTIATION": "bogus", "PGPASSWORD": "from_env",
		"PGHOST": "/nonexistent", "PGPORT": "1", "PGDATABASE": "from_env", "PGUSER": "from_env", "PGTZ": "Asia/Tokyo",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	f := startProxy(t, upstreamOf(t, pg), nil)
	for k := range env {
		os.Unsetenv(k) // for the test's own clients; t.Setenv restores the originals at the end
	}
	conn := mustConnect(t, f.unixConn("tester"))
	got := query1(t, conn, "select current_setting('application_name') || ' ' || current_setting('search_path') || ' ' || current_setting('TimeZone')")
	if strings.Contains(got, "from_env") || strings.Contains(got, "Tokyo") {
		t.Errorf("the environment reached the upstream session: %q", got)
	}
}

// testShutdownDuringMint: a session still minting when Shutdown's time runs out is told the
// proxy is shutting down, and the minter's context ends.
func testShutdownDuringMint(t *testing.T, pg *testkit.Postgres) {
	minting := make(chan struct{})
	mintCtxDone := make(chan struct{})
	f := startProxy(t, upstreamOf(t, pg), func(c *Config) {
		c.Mint = func(ctx context.Context, user string) (string, error) {
			close(minting)
			<-ctx.Done()
			close(mintCtxDone)
			return "", ctx.Err()
		}
	})
	errc := make(chan error, 1)
	go func() {
		_, err := connect(t, f.unixConn("tester"))
		errc <- err
	}()
	select {
	case <-minting:
	case <-time.After(30 * time.Second):
		t.Fatal("Mint was not called")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := f.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v", err)
	}
	select {
	case <-mintCtxDone:
	case <-time.After(30 * time.Second):
		t.Fatal("the minter's context did not end")
	}
	select {
	case err := <-errc:
		wantPgError(t, err, "57P01", "shutting down")
	case <-time.After(30 * time.Second):
		t.Fatal("the client got no answer")
	}
}
