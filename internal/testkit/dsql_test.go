package testkit_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dsql/auth"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// DSQL's error texts, as the double must send them.
const (
	accessDenied = "unable to accept connection, access denied"
	rateExceeded = "Unable to accept connection, rate exceeded."
	tooManyConns = "Unable to accept connection, too many open connections."
)

// dsqlBackend starts PostgreSQL 18 with the roles the tests use: admin and tester.
func dsqlBackend(t *testing.T) *testkit.Postgres {
	t.Helper()
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18})
	pg.SQL(t, "CREATE ROLE admin LOGIN; CREATE ROLE tester LOGIN;")
	return pg
}

// mint signs a token with the SDK's own signer, as dsqlenv does: DbConnectAdmin for admin,
// DbConnect for every other role (or the action asked for, when action is not "").
func mint(t *testing.T, host, region, user, secret, action string, expiresIn time.Duration) string {
	t.Helper()
	creds := credentials.NewStaticCredentialsProvider(testkit.ExampleKeyID, secret, "")
	sign := auth.GenerateDbConnectAuthToken
	if action == "DbConnectAdmin" || action == "" && user == "admin" {
		sign = auth.GenerateDBConnectAdminAuthToken
	}
	tok, err := sign(context.Background(), host, region, creds, func(o *auth.TokenOptions) { o.ExpiresIn = expiresIn })
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// good mints a token the double must take for user.
func good(t *testing.T, d *testkit.DSQL, user string) string {
	t.Helper()
	return mint(t, d.Host, d.Region, user, testkit.ExampleSecret, "", 0)
}

// dsqlConnect connects with pgconn as a client of the cluster would: host is the endpoint
// name (SNI, verify-full against the double's CA), which resolves to 127.0.0.1.
func dsqlConnect(t *testing.T, d *testkit.DSQL, user, token, extra string, tweak func(*pgconn.Config)) (*pgconn.PgConn, error) {
	t.Helper()
	cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=verify-full sslrootcert=%s connect_timeout=60 %s",
		d.Host, d.Port, user, d.CAFile, extra))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = token
	cfg.LookupFunc = func(context.Context, string) ([]string, error) { return []string{"127.0.0.1"}, nil }
	if tweak != nil {
		tweak(cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := pgconn.ConnectConfig(ctx, cfg)
	if err == nil {
		t.Cleanup(func() { c.Close(context.Background()) })
	}
	return c, err
}

// query runs one query and returns the first column of its first row.
func query(t *testing.T, c *pgconn.PgConn, sql string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := c.Exec(ctx, sql).ReadAll()
	if err != nil {
		return "", err
	}
	if len(res) != 1 || len(res[0].Rows) != 1 {
		return "", fmt.Errorf("%s: %d results", sql, len(res))
	}
	return string(res[0].Rows[0][0]), nil
}

// wantPgError checks that err carries exactly this FATAL error from the server.
func wantPgError(t *testing.T, what string, err error, code, message, hint string) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Errorf("%s: got %v, want %s %q", what, err, code, message)
		return
	}
	if pgErr.Severity != "FATAL" || pgErr.Code != code || pgErr.Message != message || pgErr.Hint != hint {
		t.Errorf("%s: got %s %s %q hint %q, want FATAL %s %q hint %q", what, pgErr.Severity, pgErr.Code, pgErr.Message, pgErr.Hint, code, message, hint)
	}
}

// eventually polls cond for up to a minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func isSSLRequest(b []byte) bool { return bytes.Equal(b, sslRequest) }
func isClientHello(b []byte) bool {
	return len(b) >= 2 && b[0] == 0x16 && b[1] == 0x03
}

// TestDSQLAcceptsSDKTokens connects through the double with tokens from the SDK's signer,
// with both TLS negotiations, with pgconn and with psql on libpq 18 and 15, and checks that
// the session is the requested role's on the real server.
func TestDSQLAcceptsSDKTokens(t *testing.T) {
	pg := dsqlBackend(t)
	d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{})
	if !strings.HasSuffix(d.Host, ".dsql.us-east-1.on.aws") || len(strings.Split(d.Host, ".")[0]) != 26 {
		t.Errorf("endpoint %q is not ID.dsql.us-east-1.on.aws with a 26-character ID", d.Host)
	}
	accepted := 0
	for _, c := range []struct {
		user, negotiation string
		isFirst           func([]byte) bool
	}{
		{"tester", "postgres", isSSLRequest},
		{"admin", "postgres", isSSLRequest},
		{"tester", "direct", isClientHello},
		{"admin", "direct", isClientHello},
	} {
		conn, err := dsqlConnect(t, d, c.user, good(t, d, c.user), "sslnegotiation="+c.negotiation, nil)
		if err != nil {
			t.Errorf("%s with sslnegotiation=%s: %v (double: %q)", c.user, c.negotiation, err, d.Stats().LastRefusal)
			continue
		}
		accepted++
		if got, err := query(t, conn, "SELECT current_user"); err != nil || got != c.user {
			t.Errorf("%s with sslnegotiation=%s: current_user %q, %v", c.user, c.negotiation, got, err)
		}
		s := d.Stats()
		if first := s.FirstBytes[len(s.FirstBytes)-1]; !c.isFirst(first) {
			t.Errorf("%s with sslnegotiation=%s: the client's first bytes were % x", c.user, c.negotiation, first)
		}
		if ep := s.Endpoints[len(s.Endpoints)-1]; ep != d.Host {
			t.Errorf("%s with sslnegotiation=%s: SNI %q, want %q", c.user, c.negotiation, ep, d.Host)
		}
		conn.Close(context.Background())
	}

	// botocore and the JavaScript signer write HOST/?…; DSQL takes that shape as well.
	slash := strings.Replace(good(t, d, "tester"), "?", "/?", 1)
	if conn, err := dsqlConnect(t, d, "tester", slash, "", nil); err != nil {
		t.Errorf("a HOST/?… token: %v (double: %q)", err, d.Stats().LastRefusal)
	} else {
		accepted++
		conn.Close(context.Background())
	}

	// Temporary credentials (SSO, assumed roles) add X-Amz-Security-Token, which is signed
	// like any other query parameter.
	creds := credentials.NewStaticCredentialsProvider(testkit.ExampleKeyID, testkit.ExampleSecret, "IQoJb3JpZ2luX2VjEXAMPLE+session/token==")
	withSession, err := auth.GenerateDbConnectAuthToken(context.Background(), d.Host, d.Region, creds)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(withSession, "X-Amz-Security-Token=") {
		t.Errorf("the SDK's token from temporary credentials has no X-Amz-Security-Token")
	}
	if conn, err := dsqlConnect(t, d, "tester", withSession, "", nil); err != nil {
		t.Errorf("a token with a session token: %v (double: %q)", err, d.Stats().LastRefusal)
	} else {
		accepted++
		conn.Close(context.Background())
	}

	// psql, as a user runs it: host is the endpoint, hostaddr where it is, the token in
	// PGPASSWORD. libpq 18 negotiates directly, libpq 15 with an SSLRequest.
	for _, c := range []struct {
		libpq int
		extra string
	}{{18, "sslnegotiation=direct"}, {15, ""}} {
		path, env := testkit.PsqlWithLibpq(t, c.libpq)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, path, "-X", "-At", "-c", "SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
			fmt.Sprintf("host=%s hostaddr=127.0.0.1 port=%d user=admin dbname=postgres sslmode=verify-full sslrootcert=%s connect_timeout=60 %s", d.Host, d.Port, d.CAFile, c.extra))
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "PGPASSWORD=" + good(t, d, "admin")}, env...)
		out, err := cmd.CombinedOutput()
		cancel()
		// The relayed session is plaintext on the server's Unix socket: ssl is f there.
		if got := strings.TrimSpace(string(out)); err != nil || got != "admin|f" {
			t.Errorf("psql with libpq %d %s: %q, %v (double: %q)", c.libpq, c.extra, got, err, d.Stats().LastRefusal)
		} else {
			accepted++
		}
	}
	if s := d.Stats(); s.Accepted != accepted || s.Refused != 0 {
		t.Errorf("the double counted %d accepted, %d refused (last: %q); want %d and 0", s.Accepted, s.Refused, s.LastRefusal, accepted)
	}
}

// TestDSQLRefusesBadTokens checks each way a token can be wrong, with DSQL's error and the
// double's own reason.
func TestDSQLRefusesBadTokens(t *testing.T) {
	pg := dsqlBackend(t)
	d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{})
	otherCluster := "zyxwvutsrqponmlkjihgfedcba.dsql.us-east-1.on.aws"
	for _, c := range []struct {
		name, user string
		token      func() string
		clock      time.Duration // the double's clock moves by this much before connecting
		hint       string
		reason     string
	}{
		{"expired after 16 minutes", "tester", func() string { return good(t, d, "tester") }, 16 * time.Minute,
			"Signature expired", "signature expired"},
		{"expired after its own 60 seconds", "tester", func() string {
			return mint(t, d.Host, d.Region, "tester", testkit.ExampleSecret, "", time.Minute)
		}, 2 * time.Minute, "Signature expired", "signature expired"},
		{"dated 10 minutes ahead of the cluster", "tester", func() string { return good(t, d, "tester") }, -10 * time.Minute,
			"", "after the double's clock"},
		{"signed with another secret", "tester", func() string {
			return mint(t, d.Host, d.Region, "tester", "not-the-example-secret", "", 0)
		}, 0, "", "signature does not verify"},
		{"signed for another cluster", "tester", func() string {
			return mint(t, otherCluster, d.Region, "tester", testkit.ExampleSecret, "", 0)
		}, 0, "", `signed for host "` + otherCluster + `"`},
		{"signed for another region", "tester", func() string {
			return mint(t, d.Host, "us-west-2", "tester", testkit.ExampleSecret, "", 0)
		}, 0, "", `signed for region "us-west-2"`},
		{"DbConnect for admin", "admin", func() string {
			return mint(t, d.Host, d.Region, "admin", testkit.ExampleSecret, "DbConnect", 0)
		}, 0, "Wrong user to action mapping. user: admin, action: DbConnect", "wrong user to action mapping"},
		{"DbConnectAdmin for another role", "tester", func() string {
			return mint(t, d.Host, d.Region, "tester", testkit.ExampleSecret, "DbConnectAdmin", 0)
		}, 0, "Wrong user to action mapping. user: tester, action: DbConnectAdmin", "wrong user to action mapping"},
		{"a plain password", "tester", func() string { return "test-password" }, 0, "", "not a token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			token := c.token()
			d.Advance(c.clock)
			defer d.Advance(-c.clock)
			for _, negotiation := range []string{"postgres", "direct"} {
				before := d.Stats()
				_, err := dsqlConnect(t, d, c.user, token, "sslnegotiation="+negotiation, nil)
				wantPgError(t, negotiation, err, "28000", accessDenied, c.hint)
				s := d.Stats()
				if s.Refused != before.Refused+1 || s.Accepted != before.Accepted || !strings.Contains(s.LastRefusal, c.reason) {
					t.Errorf("%s: the double counted %d→%d refused, %d→%d accepted, last reason %q; want one more refusal for %q",
						negotiation, before.Refused, s.Refused, before.Accepted, s.Accepted, s.LastRefusal, c.reason)
				}
				if last := s.Tokens[len(s.Tokens)-1]; last != token {
					t.Errorf("%s: the double did not record the token it was sent", negotiation)
				}
			}
		})
	}

	// The same token is good once the clock is back, and a token asked for an hour outlives
	// 16 minutes: the double reads X-Amz-Expires, not a fixed 15 minutes.
	if _, err := dsqlConnect(t, d, "tester", good(t, d, "tester"), "", nil); err != nil {
		t.Errorf("a good token after the clock came back: %v (double: %q)", err, d.Stats().LastRefusal)
	}
	hour := mint(t, d.Host, d.Region, "tester", testkit.ExampleSecret, "", time.Hour)
	d.Advance(16 * time.Minute)
	if _, err := dsqlConnect(t, d, "tester", hour, "", nil); err != nil {
		t.Errorf("a one-hour token 16 minutes on: %v (double: %q)", err, d.Stats().LastRefusal)
	}
}

// TestDSQLNegotiation checks what the double takes before a token: TLS only, direct TLS only
// with ALPN postgresql, GSSAPI encryption declined, an endpoint name (SNI) required; and that
// it asks for the password in clear.
func TestDSQLNegotiation(t *testing.T) {
	pg := dsqlBackend(t)
	d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{})

	_, err := dsqlConnect(t, d, "tester", good(t, d, "tester"), "", func(c *pgconn.Config) { c.TLSConfig = nil })
	wantPgError(t, "without TLS", err, "28000", "unable to accept connection, TLS required", "")
	if s := d.Stats(); s.LastRefusal != "startup without TLS" || !bytes.Equal(s.FirstBytes[len(s.FirstBytes)-1][4:8], []byte{0, 3, 0, 0}) {
		t.Errorf("without TLS: last refusal %q, first bytes % x", s.LastRefusal, s.FirstBytes[len(s.FirstBytes)-1])
	}

	// PostgreSQL 17+ and the double close a direct TLS connection that did not negotiate
	// ALPN postgresql; pgconn always offers it, so this client is made to forget it.
	_, err = dsqlConnect(t, d, "tester", good(t, d, "tester"), "sslnegotiation=direct", func(c *pgconn.Config) { c.TLSConfig.NextProtos = nil })
	if s := d.Stats(); err == nil || s.LastRefusal != "direct TLS without ALPN postgresql" {
		t.Errorf("direct TLS without ALPN: %v, last refusal %q", err, s.LastRefusal)
	}
	// A client that offers ALPN with an SSLRequest is fine, and so is one that does not.
	if _, err := dsqlConnect(t, d, "tester", good(t, d, "tester"), "", func(c *pgconn.Config) { c.TLSConfig.NextProtos = nil }); err != nil {
		t.Errorf("SSLRequest without ALPN: %v (double: %q)", err, d.Stats().LastRefusal)
	}

	// Without SNI (host=127.0.0.1: clients send no SNI for an address) the double cannot
	// tell which endpoint the client reached, so no token matches it.
	_, err = dsqlConnect(t, d, "tester", good(t, d, "tester"), "", func(c *pgconn.Config) { c.TLSConfig.ServerName = "127.0.0.1" })
	wantPgError(t, "without SNI", err, "28000", accessDenied, "")
	if s := d.Stats(); !strings.Contains(s.LastRefusal, "no SNI") || s.Endpoints[len(s.Endpoints)-1] != "" {
		t.Errorf("without SNI: last refusal %q, endpoints %q", s.LastRefusal, s.Endpoints)
	}

	// Another cluster's name as SNI, with a token signed for that name and a certificate check
	// that lets it through: DSQL routes by the SNI name, so this endpoint is not the one the
	// client asked for.
	other := "zyxwvutsrqponmlkjihgfedcba.dsql.us-east-1.on.aws"
	_, err = dsqlConnect(t, d, "tester", mint(t, other, d.Region, "tester", testkit.ExampleSecret, "", 0), "sslmode=require", func(c *pgconn.Config) {
		c.TLSConfig.ServerName, c.TLSConfig.InsecureSkipVerify = other, true
	})
	wantPgError(t, "another cluster's SNI", err, "28000", accessDenied, "")
	if s := d.Stats(); !strings.Contains(s.LastRefusal, `the client sent SNI "`+other+`", not this cluster's endpoint`) {
		t.Errorf("another cluster's SNI: last refusal %q", s.LastRefusal)
	}

	// A good token for a role the server lacks: the server's own refusal comes through.
	_, err = dsqlConnect(t, d, "ghost", good(t, d, "ghost"), "", nil)
	wantPgError(t, "a missing role", err, "28000", `role "ghost" does not exist`, "")
	if s := d.Stats(); !strings.HasPrefix(s.LastRefusal, "the server refused the session") {
		t.Errorf("a missing role: last refusal %q", s.LastRefusal)
	}

	// By hand: GSSENCRequest → N, SSLRequest → S, TLS, then the startup is answered with
	// AuthenticationCleartextPassword, and the token with AuthenticationOk … ReadyForQuery.
	raw, err := net.DialTimeout("tcp", d.Addr, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(60 * time.Second))
	answer := func(req pgproto3.FrontendMessage) byte {
		f := pgproto3.NewFrontend(raw, raw)
		f.Send(req)
		if err := f.Flush(); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1)
		if _, err := raw.Read(b); err != nil {
			t.Fatal(err)
		}
		return b[0]
	}
	if got := answer(&pgproto3.GSSEncRequest{}); got != 'N' {
		t.Errorf("GSSENCRequest: answered %q, want N", got)
	}
	if got := answer(&pgproto3.SSLRequest{}); got != 'S' {
		t.Fatalf("SSLRequest: answered %q, want S", got)
	}
	roots := x509.NewCertPool()
	roots.AddCert(d.CA.Cert)
	tc := tls.Client(raw, &tls.Config{ServerName: d.Host, RootCAs: roots, NextProtos: []string{"postgresql"}})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	f := pgproto3.NewFrontend(tc, tc)
	f.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "tester", "database": "postgres"}})
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	if msg, err := f.Receive(); err != nil {
		t.Fatal(err)
	} else if _, ok := msg.(*pgproto3.AuthenticationCleartextPassword); !ok {
		t.Fatalf("the startup was answered with %T, want AuthenticationCleartextPassword", msg)
	}
	f.Send(&pgproto3.PasswordMessage{Password: good(t, d, "tester")})
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for done := false; !done; {
		msg, err := f.Receive()
		if err != nil {
			t.Fatalf("after the token: %v, having seen %v", err, seen)
		}
		seen = append(seen, fmt.Sprintf("%T", msg)[len("*pgproto3."):])
		switch msg.(type) {
		case *pgproto3.ReadyForQuery, *pgproto3.ErrorResponse:
			done = true
		}
	}
	if seen[0] != "AuthenticationOk" || seen[len(seen)-1] != "ReadyForQuery" || !strings.Contains(strings.Join(seen, " "), "BackendKeyData") {
		t.Errorf("after the token: %v, want AuthenticationOk, ParameterStatus…, BackendKeyData, ReadyForQuery", seen)
	}
}

// TestDSQLSessionCapAndLimits checks the session cap (on the double's clock and in real
// time), the connection-rate limit (53400), the connection limit (53300), and that a cancel
// request through the double reaches the right session.
func TestDSQLSessionCapAndLimits(t *testing.T) {
	pg := dsqlBackend(t)
	activity := func(role string) string {
		return strings.TrimSpace(pg.SQL(t, fmt.Sprintf("SELECT count(*) FROM pg_stat_activity WHERE usename = '%s'", role)))
	}
	waitClosed := func(c *pgconn.PgConn) error {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		return c.WaitForNotification(ctx)
	}

	t.Run("cap on the double's clock", func(t *testing.T) {
		d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{}) // DSQL's 60 minutes
		// The double is held from the moment the client can read ReadyForQuery until the
		// clock has moved: the worst a loaded machine can do to a test that moves the clock
		// as soon as it has connected. The cap counts from the start all the same.
		held := make(chan struct{})
		release := sync.OnceFunc(func() { close(held) })
		t.Cleanup(release) // before the double stops, even when the test fails early
		testkit.SetReadySent(d, func() { <-held })
		c, err := dsqlConnect(t, d, "tester", good(t, d, "tester"), "sslnegotiation=direct", nil)
		if err != nil {
			t.Fatal(err)
		}
		d.Advance(59 * time.Minute)
		release()
		if got, err := query(t, c, "SELECT 'alive'"); err != nil || got != "alive" {
			t.Fatalf("after 59 minutes: %q, %v", got, err)
		}
		d.Advance(2 * time.Minute)
		wantPgError(t, "after 61 minutes", waitClosed(c), "57P01", "terminating connection: maximum session duration reached", "")
		if s := d.Stats(); s.Capped != 1 {
			t.Errorf("capped %d sessions, want 1", s.Capped)
		}
		eventually(t, "the session on the server ended", func() bool { return activity("tester") == "0" })
	})

	t.Run("cap in real time", func(t *testing.T) {
		d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{SessionCap: 2 * time.Second})
		c, err := dsqlConnect(t, d, "admin", good(t, d, "admin"), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		wantPgError(t, "after 2 seconds", waitClosed(c), "57P01", "terminating connection: maximum session duration reached", "")
		if took := time.Since(start); took > 50*time.Second {
			t.Errorf("the cap of 2 s closed the session after %v", took)
		}
		eventually(t, "the session on the server ended", func() bool { return activity("admin") == "0" })
	})

	t.Run("connection rate", func(t *testing.T) {
		// A burst of 2, refilled at one connection per 100 s of the double's clock.
		d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{RatePerSecond: 0.01, Burst: 2})
		for i := range 2 {
			c, err := dsqlConnect(t, d, "tester", good(t, d, "tester"), "", nil)
			if err != nil {
				t.Fatalf("connection %d of the burst: %v", i+1, err)
			}
			c.Close(context.Background())
		}
		_, err := dsqlConnect(t, d, "tester", good(t, d, "tester"), "", nil)
		wantPgError(t, "beyond the burst", err, "53400", rateExceeded, "")
		if s := d.Stats(); s.LastRefusal != rateExceeded {
			t.Errorf("last refusal %q", s.LastRefusal)
		}
		d.Advance(101 * time.Second)
		if _, err := dsqlConnect(t, d, "tester", good(t, d, "tester"), "sslnegotiation=direct", nil); err != nil {
			t.Errorf("after 101 s: %v (double: %q)", err, d.Stats().LastRefusal)
		}
		_, err = dsqlConnect(t, d, "tester", good(t, d, "tester"), "sslnegotiation=direct", nil)
		wantPgError(t, "beyond the refill", err, "53400", rateExceeded, "")
	})

	t.Run("open connections", func(t *testing.T) {
		d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{MaxConnections: 1})
		first, err := dsqlConnect(t, d, "tester", good(t, d, "tester"), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = dsqlConnect(t, d, "admin", good(t, d, "admin"), "", nil)
		wantPgError(t, "a second connection", err, "53300", tooManyConns, "")
		first.Close(context.Background())
		eventually(t, "the first connection's slot is free", func() bool { return d.Stats().Open == 0 })
		if _, err := dsqlConnect(t, d, "admin", good(t, d, "admin"), "", nil); err != nil {
			t.Errorf("after the first closed: %v (double: %q)", err, d.Stats().LastRefusal)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{})
		for i, negotiation := range []string{"postgres", "direct"} {
			c, err := dsqlConnect(t, d, "tester", good(t, d, "tester"), "sslnegotiation="+negotiation, nil)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
				defer cancel()
				_, err := c.Exec(ctx, "SELECT pg_sleep(100)").ReadAll()
				done <- err
			}()
			eventually(t, "the query is running", func() bool {
				return strings.TrimSpace(pg.SQL(t, "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(100)' AND state = 'active'")) == "1"
			})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			if err := c.CancelRequest(ctx); err != nil {
				t.Errorf("%s: cancel request: %v", negotiation, err)
			}
			cancel()
			var pgErr *pgconn.PgError
			if err := <-done; !errors.As(err, &pgErr) || pgErr.Code != "57014" {
				t.Errorf("%s: the query ended with %v, want 57014 query_canceled", negotiation, err)
			}
			if s := d.Stats(); s.Cancels != i+1 {
				t.Errorf("%s: the double forwarded %d cancel requests, want %d", negotiation, s.Cancels, i+1)
			}
			c.Close(context.Background())
		}

		// Ctrl-C in psql: libpq's PQcancel (signal-safe, so without TLS even in libpq 18)
		// sends a plaintext CancelRequest to the address the session reached.
		for i, c := range []struct {
			libpq int
			extra string
		}{{18, "sslnegotiation=direct"}, {15, ""}} {
			path, env := testkit.PsqlWithLibpq(t, c.libpq)
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			cmd := exec.CommandContext(ctx, path, "-X", "-At", "-c", "SELECT pg_sleep(101)",
				fmt.Sprintf("host=%s hostaddr=127.0.0.1 port=%d user=tester dbname=postgres sslmode=verify-full sslrootcert=%s connect_timeout=60 %s", d.Host, d.Port, d.CAFile, c.extra))
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "PGPASSWORD=" + good(t, d, "tester")}, env...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			eventually(t, "psql's query is running", func() bool {
				return strings.TrimSpace(pg.SQL(t, "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(101)' AND state = 'active'")) == "1"
			})
			cmd.Process.Signal(os.Interrupt)
			err := cmd.Wait()
			cancel()
			if err == nil || !strings.Contains(out.String(), "canceling statement due to user request") {
				t.Errorf("Ctrl-C in psql with libpq %d: %v, %q", c.libpq, err, out.String())
			}
			s := d.Stats()
			if s.Cancels != 3+i {
				t.Errorf("Ctrl-C in psql with libpq %d: the double forwarded %d cancel requests, want %d", c.libpq, s.Cancels, 3+i)
			}
			if first := s.FirstBytes[len(s.FirstBytes)-1]; len(first) < 8 || !bytes.Equal(first[4:8], []byte{0x04, 0xd2, 0x16, 0x2e}) {
				t.Errorf("Ctrl-C in psql with libpq %d: the cancel connection began % x, not with a plaintext CancelRequest", c.libpq, first[:min(len(first), 8)])
			}
		}
	})
}

// TestDSQLShutdown checks that the end of a test closes the double's connections, even idle
// ones and sessions a test left open, and ends its goroutines (the subtest's cleanup waits
// for them).
func TestDSQLShutdown(t *testing.T) {
	pg := dsqlBackend(t)
	var idle net.Conn
	var session *pgconn.PgConn
	t.Run("double", func(t *testing.T) {
		d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{})
		var err error
		if idle, err = net.DialTimeout("tcp", d.Addr, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=%s port=%d user=tester dbname=postgres sslmode=verify-full sslrootcert=%s", d.Host, d.Port, d.CAFile))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Password = good(t, d, "tester")
		cfg.LookupFunc = func(context.Context, string) ([]string, error) { return []string{"127.0.0.1"}, nil }
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if session, err = pgconn.ConnectConfig(ctx, cfg); err != nil { // no t.Cleanup: still open when the double stops
			t.Fatal(err)
		}
	})
	defer idle.Close()
	defer session.Close(context.Background())
	idle.SetDeadline(time.Now().Add(30 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("an idle connection after the double stopped: read %d bytes, %v; want it closed", n, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := session.Exec(ctx, "SELECT 1").Close(); err == nil {
		t.Errorf("a session after the double stopped still answers")
	}
	eventually(t, "the relayed session on the server ended", func() bool {
		return strings.TrimSpace(pg.SQL(t, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'tester'")) == "0"
	})
}
