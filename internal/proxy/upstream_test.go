package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"path/filepath"
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
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				be := pgproto3.NewBackend(c, c)
				if _, err := be.ReceiveStartupMessage(); err != nil {
					return
				}
				serve(be, c)
			}()
		}
	}()
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
