package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// TestClientLeavingWhileQueued: a client that hangs up while it waits for the pacing, its
// token or its upstream connection takes that wait along: the mint's context ends, the dial
// is closed, and the slots it held are given back at once, not after the mint's or the
// dial's own timeout (an hour here).
func TestClientLeavingWhileQueued(t *testing.T) {
	t.Run("mint", func(t *testing.T) {
		minting, ended := make(chan struct{}), make(chan struct{})
		f := startProxy(t, fakeUpstream(t, ready), func(c *Config) {
			c.MintTimeout = time.Hour
			c.Mint = func(ctx context.Context, user string) (string, error) {
				close(minting)
				<-ctx.Done()
				close(ended)
				return "", ctx.Err()
			}
		})
		c := rawStart(t, f)
		waitClosed(t, "Mint to be called", minting)
		c.Close()
		waitClosed(t, "the mint's context to end after its client left", ended)
		waitFor(t, "the session's slot to be given back", func() bool { return f.srv.Sessions() == 0 })
		waitFor(t, "the session's log line", func() bool { return f.logged("client left") == 1 })
	})

	t.Run("dial", func(t *testing.T) {
		// An upstream that takes the connection and never answers the TLS handshake.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted, hungUp := make(chan struct{}), make(chan struct{})
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			close(accepted)
			io.Copy(io.Discard, c)
			close(hungUp)
		}()
		up := Upstream{Addr: ln.Addr().String(), ServerName: "localhost", Direct: true, Database: "postgres"}
		f := startProxy(t, up, func(c *Config) { c.DialTimeout = time.Hour })
		c := rawStart(t, f)
		waitClosed(t, "the upstream connection", accepted)
		c.Close()
		waitClosed(t, "the upstream connection to close after its client left", hungUp)
		waitFor(t, "the session's slot to be given back", func() bool { return f.srv.Sessions() == 0 })
	})

	t.Run("pacing", func(t *testing.T) {
		f := startProxy(t, fakeUpstream(t, ready), func(c *Config) { c.Rate, c.Burst = 0.001, 1 })
		receiveUntil[*pgproto3.ReadyForQuery](t, rawClient(t, f)) // the burst's one connection
		c := rawStart(t, f)
		waitFor(t, "the second client to wait for the pacing", func() bool { return f.srv.Sessions() == 2 })
		c.Close()
		waitFor(t, "the waiting client's slot to be given back", func() bool { return f.srv.Sessions() == 1 })
	})
}

// TestQuerySentBeforeAuthenticationOk: a client that sends its first query before it has
// heard AuthenticationOk (while the proxy mints and connects) has it answered after the
// hand-over, whether the proxy's watch for the client leaving took its first byte or not.
func TestQuerySentBeforeAuthenticationOk(t *testing.T) {
	up := fakeUpstream(t, func(be *pgproto3.Backend, c net.Conn) {
		be.Send(&pgproto3.AuthenticationOk{})
		be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
		be.Flush()
		if q, err := be.Receive(); err == nil {
			be.Send(&pgproto3.NoticeResponse{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: "00000", Message: "got " + q.(*pgproto3.Query).String})
			be.Send(&pgproto3.EmptyQueryResponse{})
			be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
			be.Flush()
		}
		io.Copy(io.Discard, c)
	})
	minting, release := make(chan struct{}), make(chan struct{})
	f := startProxy(t, up, func(c *Config) {
		c.Mint = func(ctx context.Context, user string) (string, error) {
			close(minting)
			<-release
			return "token", nil
		}
	})
	c := rawStart(t, f)
	waitClosed(t, "Mint to be called", minting)
	fe := pgproto3.NewFrontend(c, c)
	fe.Send(&pgproto3.Query{String: "-- early"})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	close(release)
	receiveUntil[*pgproto3.ReadyForQuery](t, fe)
	msg, err := fe.Receive()
	if n, ok := msg.(*pgproto3.NoticeResponse); err != nil || !ok || n.Message != "got -- early" {
		t.Errorf("after the hand-over: %T %+v, %v; want the server's notice that it got the early query", msg, msg, err)
	}
}

// waitClosed waits up to 30 s for ch to be closed.
func waitClosed(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("still waiting, after 30 s, for %s", what)
	}
}

// testAccessDeniedNamesTheIAMAction: DSQL's 28000 without a hint of its own gets one that
// names the IAM action the user needs (DbConnectAdmin for admin) and the cluster's region.
func testAccessDeniedNamesTheIAMAction(t *testing.T, pg *testkit.Postgres) {
	f, d, _ := startWarm(t, pg, func(c *Config) {
		c.Upstream.Region = "us-east-1"
		c.Mint = func(ctx context.Context, user string) (string, error) { return "not-a-token", nil }
	})
	for user, action := range map[string]string{"admin": "dsql:DbConnectAdmin ", "tester": "dsql:DbConnect "} {
		_, err := connect(t, f.unixConn(user))
		pe := wantPgError(t, err, "28000", "access denied")
		for _, part := range []string{action, d.Region, "profile test"} {
			if !strings.Contains(pe.Hint, part) {
				t.Errorf("%s: hint %q does not name %q", user, pe.Hint, part)
			}
		}
	}
}

// TestTLSOnTCP: with Config.TLS, a TCP client that asks for TLS (sslmode=require, a GUI's
// default) gets it; one that verifies the certificate (verify-full) connects with the
// certificate as its sslrootcert, and one that trusts other roots fails, with a log line that
// says what to set.
func TestTLSOnTCP(t *testing.T) {
	certPEM, keyPEM, err := LocalCertificate()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(t.TempDir(), "proxy.crt")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	otherCA := filepath.Join(t.TempDir(), "other.crt")
	if err := os.WriteFile(otherCA, testkit.NewCA(t, "another CA").CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	f := startProxy(t, fakeUpstream(t, ready), func(c *Config) {
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		c.TLSCertFile = certFile
	})
	host, port, _ := net.SplitHostPort(f.tcp)
	base := fmt.Sprintf("host=%s port=%s user=tester dbname=postgres password=%s connect_timeout=30 ", host, port, localPW)
	for _, opts := range []string{"sslmode=require", "sslmode=verify-full sslrootcert=" + certFile} {
		conn, err := connect(t, base+opts)
		if err != nil {
			t.Fatalf("%s: %v", opts, err)
		}
		if _, ok := conn.Conn().(*tls.Conn); !ok {
			t.Errorf("%s: the connection is %T, not TLS", opts, conn.Conn())
		}
		conn.Close(context.Background())
	}
	// libpq (OpenSSL) takes the certificate as its root too.
	path, env := testkit.PsqlWithLibpq(t, 18)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-X", "-c", `\q`, base+"sslmode=verify-full sslrootcert="+certFile)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("psql with verify-full: %v\n%s", err, out)
	}
	if _, err := connect(t, base+"sslmode=verify-full sslrootcert="+otherCA); err == nil {
		t.Fatal("verify-full against other roots connected")
	}
	waitFor(t, "a log line that says what to set", func() bool {
		return f.logged("sslrootcert="+certFile) == 1 && f.logged("sslmode=require") == 1
	})
}
