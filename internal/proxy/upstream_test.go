package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// fakeUpstream serves direct TLS (ALPN postgresql) on loopback until the test ends; each
// connection's startup message is read, then serve speaks for the server.
func fakeUpstream(t *testing.T, serve func(be *pgproto3.Backend, c net.Conn)) Upstream {
	t.Helper()
	ca := testkit.NewCA(t, "a fake upstream")
	certPEM, keyPEM := ca.Issue(t, []string{"localhost"}, nil, time.Now().Add(time.Hour))
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"postgresql"}})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Serve(t, ln, func(c net.Conn) {
		go func() {
			defer c.Close()
			be := pgproto3.NewBackend(c, c)
			if _, err := be.ReceiveStartupMessage(); err != nil {
				return
			}
			serve(be, c)
		}()
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	return Upstream{Addr: ln.Addr().String(), ServerName: "localhost", RootCAs: pool, Direct: true, Database: "postgres"}
}

// ready is a fake upstream that logs every client in at once and reads until it leaves.
func ready(be *pgproto3.Backend, c net.Conn) {
	be.Send(&pgproto3.AuthenticationOk{})
	be.Send(&pgproto3.ParameterStatus{Name: "server_version", Value: "18.0"})
	be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	be.Flush()
	io.Copy(io.Discard, c)
}

// rawClient starts a session through the proxy's socket as tester and returns its frontend.
func rawClient(t *testing.T, f *fixture) *pgproto3.Frontend {
	t.Helper()
	c := rawStart(t, f)
	return pgproto3.NewFrontend(c, c)
}

// rawStart connects to the proxy's socket and sends a startup message for tester.
func rawStart(t *testing.T, f *fixture) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", filepath.Join(f.sockDir, ".s.PGSQL.5432"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(60 * time.Second))
	c.Write(startupPacket(3<<16, "user", "tester", "database", "postgres"))
	return c
}

// receiveUntil returns the types of the messages fe receives up to and including one of type T.
func receiveUntil[T pgproto3.BackendMessage](t *testing.T, fe *pgproto3.Frontend) []string {
	t.Helper()
	var seen []string
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("after %v: %v", seen, err)
		}
		seen = append(seen, fmt.Sprintf("%T", msg))
		if _, ok := msg.(T); ok {
			return seen
		}
	}
}

// TestHandOverKeepsWhatFollowsReadyForQuery: what the server sends right after its
// ReadyForQuery, in the same write (here a NoticeResponse), reaches the client before the
// answer to its first query: the proxy reads the upstream's startup without reading ahead.
func TestHandOverKeepsWhatFollowsReadyForQuery(t *testing.T) {
	up := fakeUpstream(t, func(be *pgproto3.Backend, c net.Conn) {
		be.Send(&pgproto3.AuthenticationOk{})
		be.Send(&pgproto3.ParameterStatus{Name: "server_version", Value: "18.0"})
		be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
		be.Send(&pgproto3.NoticeResponse{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: "00000", Message: "sent after ReadyForQuery"})
		if be.Flush() != nil {
			return
		}
		if _, err := be.Receive(); err != nil {
			return
		}
		be.Send(&pgproto3.EmptyQueryResponse{})
		be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
		be.Flush()
		io.Copy(io.Discard, c)
	})
	f := startProxy(t, up, nil)
	fe := rawClient(t, f)
	receiveUntil[*pgproto3.ReadyForQuery](t, fe)
	fe.Send(&pgproto3.Query{String: ""})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	msg, err := fe.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := msg.(*pgproto3.NoticeResponse); !ok || n.Message != "sent after ReadyForQuery" {
		t.Errorf("after the hand-over the client got %T %+v first; want the NoticeResponse the server sent after ReadyForQuery", msg, msg)
	}
}

// TestStartupNoticesReachTheClient: the NoticeResponses the server sends while the session
// starts reach the client, after AuthenticationOk (where libpq takes them), in their order.
func TestStartupNoticesReachTheClient(t *testing.T) {
	notice := func(msg string) *pgproto3.NoticeResponse {
		return &pgproto3.NoticeResponse{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: "00000", Message: msg}
	}
	up := fakeUpstream(t, func(be *pgproto3.Backend, c net.Conn) {
		be.Send(notice("before the login"))
		be.Send(&pgproto3.AuthenticationOk{})
		be.Send(notice("after the login"))
		ready(be, c)
	})
	f := startProxy(t, up, nil)
	fe := rawClient(t, f)
	var got []string
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		switch m := msg.(type) {
		case *pgproto3.NoticeResponse:
			got = append(got, m.Message)
		case *pgproto3.AuthenticationOk:
			got = append(got, "AuthenticationOk")
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	if want := "AuthenticationOk|before the login|after the login"; strings.Join(got, "|") != want {
		t.Errorf("the client got %q; want %q", strings.Join(got, "|"), want)
	}
}

// TestRateExceededIsRetriedOnce: a 53400 (DSQL's connection rate exceeded) before the client
// has heard anything is tried again once, after the pacing's wait; a second one reaches the
// client.
func TestRateExceededIsRetriedOnce(t *testing.T) {
	for _, c := range []struct {
		refusals, wantConns int32
		wantCode            string
	}{{1, 2, ""}, {2, 2, "53400"}} {
		t.Run(fmt.Sprintf("%d refusals", c.refusals), func(t *testing.T) {
			var conns atomic.Int32
			up := fakeUpstream(t, func(be *pgproto3.Backend, conn net.Conn) {
				if conns.Add(1) <= c.refusals {
					be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "53400", Message: "Unable to accept connection, rate exceeded."})
					be.Flush()
					return
				}
				ready(be, conn)
			})
			f := startProxy(t, up, nil)
			conn, err := connect(t, f.unixConn("tester"))
			if c.wantCode == "" {
				if err != nil {
					t.Fatalf("after one 53400: %v", err)
				}
				conn.Close(context.Background())
			} else {
				wantPgError(t, err, c.wantCode, "rate exceeded")
			}
			if n := conns.Load(); n != c.wantConns {
				t.Errorf("the upstream saw %d connections; want %d", n, c.wantConns)
			}
		})
	}
}
