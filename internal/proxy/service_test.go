package proxy

import (
	"bytes"
	"context"
	"io"
	"math"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// TestTxWatchFollowsTheFraming: the state a session shows follows the server's messages
// however the bytes are cut into writes, and a drain tells a client 57P01 only between
// messages, after a ReadyForQuery.
func TestTxWatchFollowsTheFraming(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	got := make(chan []byte)
	go func() { b, _ := io.ReadAll(client); got <- b }()
	w := &txWatch{}
	if s := w.state(); s != "login" {
		t.Fatalf("before the hand-over: %q", s)
	}
	w.start(server, 'I')
	if s := w.state(); s != "idle" {
		t.Fatalf("after the hand-over: %q", s)
	}
	var stream []byte
	stream, _ = (&pgproto3.CommandComplete{CommandTag: []byte("BEGIN")}).Encode(stream)
	stream, _ = (&pgproto3.ReadyForQuery{TxStatus: 'T'}).Encode(stream)
	var sent []byte
	// One byte at a time, then in two halves: the framing is the same.
	for i := range stream {
		w.Write(stream[i : i+1])
		if want := "active"; i < len(stream)-1 && w.state() != want {
			t.Fatalf("after %d of %d bytes: %q, want %q", i+1, len(stream), w.state(), want)
		}
	}
	sent = append(sent, stream...)
	if s := w.state(); s != "idle in transaction" {
		t.Fatalf("after ReadyForQuery T: %q", s)
	}
	half := len(stream) / 2
	w.Write(stream[:half])
	w.terminate() // mid-message: nothing may be inserted
	if _, err := w.Write(stream[half:]); err == nil {
		t.Error("a write after terminate went through")
	}
	sent = append(sent, stream[:half]...)
	server.Close()
	if b := <-got; string(b) != string(sent) {
		t.Errorf("the client got %q, want %q (no error inserted mid-message)", b, sent)
	}

	// Between messages, after ReadyForQuery: the client is told.
	server, client = net.Pipe()
	defer server.Close()
	go func() { b, _ := io.ReadAll(client); got <- b }()
	w = &txWatch{}
	w.start(server, 'I')
	w.terminate()
	server.Close()
	b := <-got
	msg, err := pgproto3.NewFrontend(bytes.NewReader(b), nil).Receive()
	if e, ok := msg.(*pgproto3.ErrorResponse); err != nil || !ok || e.Code != "57P01" || e.Severity != "FATAL" {
		t.Errorf("an idle client got %T %v (%v), want FATAL 57P01", msg, msg, err)
	}
}

// TestConnectHistogramBuckets: an observation falls in the first bucket whose bound it does
// not pass (a bound is inclusive, as Prometheus' le is), beyond 10 s in +Inf only; the
// snapshot's counts are cumulative.
func TestConnectHistogramBuckets(t *testing.T) {
	var h histogram
	for _, d := range []time.Duration{0, time.Millisecond, 1500 * time.Microsecond, 300 * time.Millisecond, 10 * time.Second, 11 * time.Second} {
		h.observe(d)
	}
	got := h.snapshot()
	want := []int64{2, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 5} // ≤ 0.001, 0.0025, …, 0.5, …, 10
	if !slices.Equal(got.Counts, want) || got.Count != 6 || len(got.Bounds) != len(want) || got.Bounds[0] != 0.001 || got.Bounds[len(want)-1] != 10 {
		t.Errorf("snapshot %+v; want counts %v and 6 in all", got, want)
	}
	if sum := 0.001 + 0.0015 + 0.3 + 10 + 11; math.Abs(got.Sum-sum) > 1e-9 {
		t.Errorf("sum %v; want %v", got.Sum, sum)
	}
}

// testDrainTellsOnlyIdleSessions: a session whose query the server is still running shows
// "active" from the moment the client sent it, and when the drain's time is up it is closed
// without a 57P01 (the stream is the server's, mid-answer); an idle session is told 57P01.
func testDrainTellsOnlyIdleSessions(t *testing.T, pg *testkit.Postgres) {
	f := startProxy(t, upstreamOf(t, pg), nil)
	idle := mustConnect(t, f.unixConn("tester"))
	busy := mustConnect(t, f.unixConn("tester"))
	// Sent by hand, so that nothing reads the connection before the test does.
	q, _ := (&pgproto3.Query{String: "select pg_sleep(60) -- drainbusy"}).Encode(nil)
	if _, err := busy.Conn().Write(q); err != nil {
		t.Fatal(err)
	}
	waitActive(t, pg, "drainbusy", 1)
	states := map[string]int{}
	for _, s := range f.srv.OpenSessions() {
		states[s.State]++
	}
	if states["active"] != 1 || states["idle"] != 1 {
		t.Errorf("/sessions' states while one query runs: %v; want one active, one idle", states)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the drain's time is up at once
	if cut, _ := f.srv.Drain(ctx); cut != 2 {
		t.Errorf("Drain cut %d sessions; want 2", cut)
	}
	told := func(c *pgconn.PgConn) bool {
		c.Conn().SetReadDeadline(time.Now().Add(60 * time.Second))
		data, _ := io.ReadAll(c.Conn())
		return strings.Contains(string(data), "C57P01\x00")
	}
	if !told(idle) {
		t.Error("the idle session was not told 57P01")
	}
	if told(busy) {
		t.Error("the session running a query was told 57P01, which says it was waiting for its client")
	}
}

// TestCheckKeepsToItsContext: --check's login ends with the context it is given (the
// command's --timeout), not only at the dial timeout: here a server that takes the
// connection and never answers, a 1 s context and a 10-minute dial timeout.
func TestCheckKeepsToItsContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Serve(t, ln, func(c net.Conn) { t.Cleanup(func() { c.Close() }) }) // held, unanswered
	srv, err := New(Config{Profile: "test", Upstream: Upstream{Addr: ln.Addr().String(), ServerName: "localhost", Direct: true},
		Mint: testMint, Password: localPW, DialTimeout: 10 * time.Minute, Log: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Check(ctx, "tester") }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "cannot connect to "+ln.Addr().String()+" for profile test") {
			t.Fatalf("Check against a server that never answers: %v; want cannot connect", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Check still waiting 60 s after its 1 s context ended")
	}
}
