package proxy

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// testClock is the proxy's injected clock: it moves only when the test says.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// startWarm serves a proxy to a new DSQL double in front of pg, with tokens the double
// accepts, the proxy's clock injected and mod applied.
func startWarm(t *testing.T, pg *testkit.Postgres, mod func(*Config)) (*fixture, *testkit.DSQL, *testClock) {
	t.Helper()
	d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{})
	pem, err := os.ReadFile(d.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	up := Upstream{Addr: d.Addr, ServerName: d.Host, RootCAs: pool, RootsFile: d.CAFile, Direct: true, Database: "postgres"}
	clk := &testClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	f := startProxyWith(t, up, func(c *Config) {
		c.Mint = func(ctx context.Context, user string) (string, error) { return d.Token(t, user, 15*time.Minute), nil }
		if mod != nil {
			mod(c)
		}
	}, func(s *Server) { s.now = clk.Now })
	return f, d, clk
}

// waitFor polls cond (state, not time) for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting, after 30 s, for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// backends returns the upstream PostgreSQL backends of sessions with that application_name.
func backends(t *testing.T, pg *testkit.Postgres, app string) []string {
	t.Helper()
	out := pg.SQL(t, fmt.Sprintf("select pid from pg_stat_activity where application_name = '%s' and pid <> pg_backend_pid() order by pid", app))
	return strings.Fields(out)
}

func without(list []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return slices.Contains(drop, s) })
}

func (f *fixture) logged(part string) int {
	n := 0
	for _, l := range f.logLines() {
		if strings.Contains(l, part) {
			n++
		}
	}
	return n
}

func testWarmHandOver(t *testing.T, pg *testkit.Postgres) {
	f, d, _ := startWarm(t, pg, func(c *Config) { c.Warm = 2 })
	conn := f.unixConn("tester") + " application_name=warmA"

	a := mustConnect(t, conn)
	aPid := query1(t, a, "select pg_backend_pid()::text")
	waitFor(t, "two warm sessions", func() bool { return f.srv.Warm() == 2 })
	if got := d.Stats().Accepted; got != 3 {
		t.Fatalf("the double accepted %d sessions; want 3 (the client's and two warm)", got)
	}
	warm := without(backends(t, pg, "warmA"), aPid)
	if len(warm) != 2 {
		t.Fatalf("warm upstream sessions %v; want 2", warm)
	}
	if n := f.logged(`user="tester" database="postgres" application_name="warmA" warm="opened"`); n != 2 {
		t.Errorf("%d lines for warm opens; want 2:\n%s", n, strings.Join(f.logLines(), "\n"))
	}
	// State set in one session is never seen in the next.
	query1(t, a, "select set_config('warmtest.x', 'leak', false)")

	b := mustConnect(t, conn)
	// The session B got existed before B connected: the hand-over opened nothing upstream.
	bPid := query1(t, b, "select pg_backend_pid()::text")
	if !slices.Contains(warm, bPid) {
		t.Fatalf("B got upstream backend %s, not one of the warm ones %v", bPid, warm)
	}
	if got := query1(t, b, "select coalesce(current_setting('warmtest.x', true), '')"); got != "" {
		t.Errorf("B sees A's setting: %q", got)
	}
	if got := b.ParameterStatus("application_name"); got != "warmA" {
		t.Errorf("B's ParameterStatus application_name = %q; want warmA", got)
	}
	if b.ParameterStatus("server_version") == "" {
		t.Error("B got no server_version ParameterStatus")
	}
	if fmt.Sprint(b.PID()) == bPid {
		t.Errorf("B's BackendKeyData is the upstream's own pid %s, not the proxy's", bPid)
	}
	// B's cancel key is mapped to its warm session like any other.
	if got := query1(t, b, "select 'b works'"); got != "b works" {
		t.Errorf("got %q", got)
	}
	// The one taken is replaced.
	waitFor(t, "the warm session taken to be replaced", func() bool { return f.srv.Warm() == 2 })

	// Another startup (another application_name) is not served from these.
	before := without(backends(t, pg, "warmA"), aPid, bPid)
	c := mustConnect(t, f.unixConn("tester")+" application_name=warmC")
	cPid := query1(t, c, "select pg_backend_pid()::text")
	if slices.Contains(before, cPid) {
		t.Errorf("a client with application_name=warmC got warmA's warm session %s", cPid)
	}
	if got := query1(t, c, "select current_setting('application_name')"); got != "warmC" {
		t.Errorf("C's application_name upstream is %q", got)
	}
}

func testWarmAge(t *testing.T, pg *testkit.Postgres) {
	f, _, clk := startWarm(t, pg, func(c *Config) { c.Warm = 1; c.WarmAge = 2 * time.Minute })
	conn := f.unixConn("tester") + " application_name=warmAge"
	a := mustConnect(t, conn)
	aPid := query1(t, a, "select pg_backend_pid()::text")
	waitFor(t, "a warm session", func() bool { return f.srv.Warm() == 1 })
	old := without(backends(t, pg, "warmAge"), aPid)

	// Moved once the warm session has been opened: it is now past --warm-age.
	clk.Advance(2*time.Minute + time.Second)
	f.srv.warm.sweep()
	waitFor(t, "the old warm session to be replaced", func() bool {
		now := without(backends(t, pg, "warmAge"), aPid)
		return f.srv.Warm() == 1 && len(now) == 1 && !slices.Contains(old, now[0])
	})
	if n := f.logged(`application_name="warmAge" warm="closed: unused for 2m1s (--warm-age 2m0s)"`); n != 1 {
		t.Errorf("%d lines for the aged warm session; want 1:\n%s", n, strings.Join(f.logLines(), "\n"))
	}

	// Without a sweep, the hand-over itself refuses a session past its age.
	aged := without(backends(t, pg, "warmAge"), aPid)
	clk.Advance(2*time.Minute + time.Second)
	b := mustConnect(t, conn)
	if bPid := query1(t, b, "select pg_backend_pid()::text"); slices.Contains(aged, bPid) {
		t.Errorf("B was handed warm session %s, past --warm-age", bPid)
	}
}

func testWarmEndedUpstream(t *testing.T, pg *testkit.Postgres) {
	f, d, _ := startWarm(t, pg, func(c *Config) { c.Warm = 1 })
	conn := f.unixConn("tester") + " application_name=warmKill"
	a := mustConnect(t, conn)
	aPid := query1(t, a, "select pg_backend_pid()::text")
	waitFor(t, "a warm session", func() bool { return f.srv.Warm() == 1 })
	warm := without(backends(t, pg, "warmKill"), aPid)
	if len(warm) != 1 {
		t.Fatalf("warm upstream sessions %v; want 1", warm)
	}
	// Ended upstream (as DSQL ends a session), and the double has closed its connection.
	pg.SQL(t, "select pg_terminate_backend("+warm[0]+", 30000)")
	waitFor(t, "the double to close the warm session", func() bool { return d.Stats().Open == 1 })

	b := mustConnect(t, conn)
	if bPid := query1(t, b, "select pg_backend_pid()::text"); bPid == warm[0] {
		t.Fatalf("B was handed the warm session the server ended")
	}
	if n := f.logged(`application_name="warmKill" warm="closed: the server`); n != 1 {
		t.Errorf("%d lines for the ended warm session; want 1:\n%s", n, strings.Join(f.logLines(), "\n"))
	}
}

func testWarmMaxSessions(t *testing.T, pg *testkit.Postgres) {
	f, d, _ := startWarm(t, pg, func(c *Config) { c.Warm = 2; c.MaxSessions = 2 })
	mustConnect(t, f.unixConn("tester")+" application_name=warmMax1")
	// The slots are taken before the client hears ReadyForQuery: one for it, one warm. Only
	// the client's is a session: the warm one yields its slot to the next client.
	if n, slots := f.srv.Sessions(), f.srv.sessions.Load(); n != 1 || slots != 2 {
		t.Fatalf("Sessions() = %d with %d slots taken, one client and --max-sessions 2; want 1 and 2", n, slots)
	}
	waitFor(t, "a warm session", func() bool { return f.srv.Warm() == 1 })
	if got := d.Stats().Accepted; got != 2 {
		t.Errorf("the double accepted %d sessions; want 2", got)
	}
	// A client of another startup takes the warm session's slot rather than being refused.
	c := mustConnect(t, f.unixConn("tester")+" application_name=warmMax2")
	query1(t, c, "select 1::text")
	if n := f.logged(`application_name="warmMax1" warm="closed: a client needed its slot (--max-sessions)"`); n != 1 {
		t.Errorf("%d lines for the evicted warm session; want 1:\n%s", n, strings.Join(f.logLines(), "\n"))
	}
	if n, w := f.srv.Sessions(), f.srv.Warm(); n != 2 || w != 0 {
		t.Errorf("Sessions() = %d, Warm() = %d; want 2 and 0", n, w)
	}
	_, err := connect(t, f.unixConn("tester")+" application_name=warmMax3")
	wantPgError(t, err, "53300", "too many sessions")
}

func testWarmDrain(t *testing.T, pg *testkit.Postgres) {
	f, d, clk := startWarm(t, pg, func(c *Config) { c.Warm = 2; c.WarmAge = time.Minute })
	a := mustConnect(t, f.unixConn("tester")+" application_name=warmDrain")
	waitFor(t, "two warm sessions", func() bool { return f.srv.Warm() == 2 })
	accepted := d.Stats().Accepted

	done := make(chan error, 1)
	go func() { done <- f.srv.Shutdown(context.Background()) }()
	// The warm sessions close at once; the client's stays for the drain.
	waitFor(t, "the warm sessions to close", func() bool { return d.Stats().Open == 1 && f.srv.Warm() == 0 })
	if n := f.logged(`application_name="warmDrain" warm="closed: the proxy is shutting down"`); n != 2 {
		t.Errorf("%d lines for warm sessions closed at drain; want 2:\n%s", n, strings.Join(f.logLines(), "\n"))
	}
	// Nothing opens them again: not the age, not a sweep.
	clk.Advance(2 * time.Minute)
	f.srv.warm.sweep()
	if got := query1(t, a, "select 'still here'"); got != "still here" {
		t.Errorf("got %q", got)
	}
	if got := d.Stats().Accepted; got != accepted {
		t.Errorf("the double accepted %d sessions during the drain; want none", got-accepted)
	}
	if n := f.srv.Sessions(); n != 1 {
		t.Errorf("Sessions() = %d during the drain; want 1", n)
	}
	a.Close(context.Background())
	waitShutdown(t, done)
}

// testWarmBurst: a client that finds none ready waits for one being opened rather than opening
// its own, and has one more opened, so that a burst of clients is served at the rate they come;
// what lands beyond --warm ready with no one waiting is closed.
func testWarmBurst(t *testing.T, pg *testkit.Postgres) {
	var (
		mu      sync.Mutex
		mints   int
		hold    bool
		release = make(chan struct{})
	)
	f, _, _ := startWarm(t, pg, func(c *Config) {
		c.Warm = 1
		mint := c.Mint
		c.Mint = func(ctx context.Context, user string) (string, error) {
			mu.Lock()
			mints++
			held := hold
			mu.Unlock()
			if held {
				select {
				case <-release:
				case <-ctx.Done():
					return "", ctx.Err()
				}
			}
			return mint(ctx, user)
		}
	})
	minted := func() int { mu.Lock(); defer mu.Unlock(); return mints }
	conn := f.unixConn("tester") + " application_name=warmBurst"

	// The first client's arrival opens one for it and one ahead; it takes the first to land.
	mustConnect(t, conn)
	waitFor(t, "a warm session", func() bool { return f.srv.Warm() == 1 })
	if n := minted(); n != 2 {
		t.Fatalf("%d tokens minted for the first client and one warm session; want 2", n)
	}

	mu.Lock()
	hold = true
	mu.Unlock()
	mustConnect(t, conn) // takes the ready one; its arrival opens the next (held)
	cDone := make(chan error, 1)
	go func() {
		c, err := connect(t, conn)
		if err == nil {
			err = c.Exec(context.Background(), "select 1").Close()
			c.Close(context.Background())
		}
		cDone <- err
	}()
	// C finds none ready: it waits for one being opened, and one more is opened.
	waitFor(t, "the third client to wait for a session being opened", func() bool { return waiters(f) == 1 })
	if n := minted(); n != 5 {
		t.Errorf("%d tokens minted; want 5 (2, then one at each arrival and one for the client that found none)", n)
	}
	close(release)
	select {
	case err := <-cDone:
		if err != nil {
			t.Fatalf("the client that waited: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the client that waited did not connect")
	}
	// Three landed: one to the waiting client, one ready, one beyond --warm 1 closed.
	waitFor(t, "the session beyond --warm to close", func() bool {
		return f.logged(`application_name="warmBurst" warm="closed: 1 ready already (--warm 1)"`) == 1
	})
	if n := f.logged(`application_name="warmBurst" warm="opened for a waiting client"`); n != 2 {
		t.Errorf("%d sessions handed to a waiting client; want 2:\n%s", n, strings.Join(f.logLines(), "\n"))
	}
	if n := minted(); n != 5 {
		t.Errorf("%d tokens minted; want 5: the client that waited opened none of its own", n)
	}
}

// testWarmOpensAheadOfTheRate: clients that come faster than sessions open get sessions
// opened ahead of them (their rate times an open's time) and kept ready while the rate
// lasts; once they come slower, the sweep closes those beyond --warm.
func testWarmOpensAheadOfTheRate(t *testing.T, pg *testkit.Postgres) {
	var (
		clk     *testClock
		slow    atomic.Bool
		held    atomic.Int32
		release = make(chan struct{})
	)
	f, _, clk := startWarm(t, pg, func(c *Config) {
		c.Warm = 1
		mint := c.Mint
		c.Mint = func(ctx context.Context, user string) (string, error) {
			if slow.Load() { // held until the test has moved the clock and lets it go
				held.Add(1)
				select {
				case <-release:
				case <-ctx.Done():
					return "", ctx.Err()
				}
			}
			return mint(ctx, user)
		}
	})
	conn := f.unixConn("tester") + " application_name=warmRate"
	p := f.srv.warm
	group := func() *warmGroup { // with p.mu held
		for _, g := range p.groups {
			return g
		}
		return nil
	}
	mustConnect(t, conn)
	waitFor(t, "a warm session", func() bool { return f.srv.Warm() == 1 })

	// Clients came at 10 a second, and an open took 500 ms.
	p.mu.Lock()
	g := group()
	g.rate, g.rateAt, g.openTime = 10, clk.Now(), 500*time.Millisecond
	p.mu.Unlock()
	slow.Store(true)
	// The next takes the ready one; with its arrival the rate is 11 a second, so 6 are used
	// up while one opens (11 × 500 ms, rounded): it opens 7, for --warm 1, the 6, and itself.
	mustConnect(t, conn)
	waitFor(t, "seven opens", func() bool { return held.Load() == 7 })
	// They take 500 ms on the proxy's clock, which the rate fades over: 11 × e^-0.5 × 500 ms
	// is 3 used up while one opens, so 4 are kept ready and 3 closed.
	clk.Advance(500 * time.Millisecond)
	close(release)
	waitFor(t, "the opens to land", func() bool {
		return f.logged(`application_name="warmRate" warm="closed: 4 ready already (--warm 1, and 3 more for the rate clients come at)"`) == 3
	})
	if n := f.srv.Warm(); n != 4 {
		t.Errorf("%d ready; want 4", n)
	}
	p.mu.Lock()
	took := group().openTime
	p.mu.Unlock()
	if took != 500*time.Millisecond {
		t.Errorf("an open took %s on the proxy's clock; want 500ms", took)
	}

	// Ten seconds without a client: the rate has gone, and the sweep closes those beyond --warm.
	clk.Advance(10 * time.Second)
	p.sweep()
	waitFor(t, "one session ready", func() bool { return f.srv.Warm() == 1 })
	if n := f.logged(`application_name="warmRate" warm="closed: more ready than --warm 1 now that clients come slower"`); n != 3 {
		t.Errorf("%d sessions closed for a rate that has passed; want 3:\n%s", n, strings.Join(f.logLines(), "\n"))
	}
}

// TestWarmArrivalRate: the rate of a startup's clients follows their arrivals and fades
// without them; ahead is that rate times an open's time, rounded.
func TestWarmArrivalRate(t *testing.T) {
	g := &warmGroup{openTime: 200 * time.Millisecond}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if a := g.ahead(t0); a != 0 {
		t.Fatalf("ahead before any client = %d; want 0", a)
	}
	// 40 clients 100 ms apart: about 10 a second.
	for i := range 40 {
		g.arrive(t0.Add(time.Duration(i) * 100 * time.Millisecond))
	}
	last := t0.Add(3900 * time.Millisecond)
	if r := g.rateNow(last); r < 9.5 || r > 11 {
		t.Errorf("rate after clients 100 ms apart = %.2f a second; want about 10", r)
	}
	if a := g.ahead(last); a != 2 {
		t.Errorf("ahead at 10 a second and 200 ms an open = %d; want 2", a)
	}
	// One client alone, then none for 5 s.
	if a := g.ahead(last.Add(5 * time.Second)); a != 0 {
		t.Errorf("ahead 5 s after the last client = %d; want 0", a)
	}
	one := &warmGroup{openTime: 200 * time.Millisecond}
	one.arrive(t0)
	if a := one.ahead(t0); a != 0 {
		t.Errorf("ahead after a single client = %d; want 0 (1 a second × 200 ms rounds to 0)", a)
	}
}

// testWarmWaiterLeaves: a client waiting for a warm session being opened that hangs up gives
// up its place at once, not when the open lands; the session then stays warm for the next.
func testWarmWaiterLeaves(t *testing.T, pg *testkit.Postgres) {
	release := make(chan struct{})
	f, _, _ := startWarm(t, pg, func(c *Config) {
		c.Warm = 1
		mint := c.Mint
		c.Mint = func(ctx context.Context, user string) (string, error) {
			select {
			case <-release:
			case <-ctx.Done():
				return "", ctx.Err()
			}
			return mint(ctx, user)
		}
	})
	// The first client's arrival opens two (held in their mint) and it waits for the first.
	c := rawStart(t, f)
	waitFor(t, "the client to wait for a session being opened", func() bool { return waiters(f) == 1 })
	c.Close()
	waitFor(t, "the client that left to give up its place", func() bool { return waiters(f) == 0 })
	waitFor(t, "the session's log line", func() bool { return f.logged("client left") == 1 })

	close(release)
	waitFor(t, "a warm session", func() bool { return f.srv.Warm() == 1 })
	hits := f.srv.counters.warmHits.Load()
	b := mustConnect(t, f.unixConn("tester"))
	query1(t, b, "select 1::text")
	if got := f.srv.counters.warmHits.Load(); got != hits+1 {
		t.Errorf("the next client was not handed the warm session (%d warm hits; want %d)", got, hits+1)
	}
}

// waiters returns the number of clients waiting for a warm session being opened.
func waiters(f *fixture) int {
	p := f.srv.warm
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, g := range p.groups {
		n += len(g.waiters)
	}
	return n
}

// TestWarmSessionEndedInItsStartupRecord: a warm session whose server sent a message (57P01
// here) in the same TLS record as its ReadyForQuery is found ended before the hand-over,
// although the message sits decrypted in the TLS connection and the socket holds nothing.
func TestWarmSessionEndedInItsStartupRecord(t *testing.T) {
	var poison atomic.Bool
	poison.Store(true)
	f := startProxy(t, fakeUpstream(t, func(be *pgproto3.Backend, c net.Conn) {
		be.Send(&pgproto3.AuthenticationOk{})
		be.Send(&pgproto3.ParameterStatus{Name: "server_version", Value: "18.0"})
		be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
		if poison.Load() {
			be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"})
		}
		be.Flush() // one write: one TLS record
		// The connection stays open, and queries are answered, as long as the proxy keeps it.
		for {
			msg, err := be.Receive()
			if err != nil {
				return
			}
			if _, ok := msg.(*pgproto3.Query); ok {
				be.Send(&pgproto3.EmptyQueryResponse{})
				be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
				be.Flush()
			}
		}
	}), func(c *Config) { c.Warm = 1 })

	// The first client takes the first session to land; the other stays warm, ended.
	receiveUntil[*pgproto3.ReadyForQuery](t, rawClient(t, f))
	waitFor(t, "a warm session", func() bool { return f.srv.Warm() == 1 })
	poison.Store(false)

	b := rawClient(t, f)
	receiveUntil[*pgproto3.ReadyForQuery](t, b)
	b.Send(&pgproto3.Query{String: ""})
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if seen := receiveUntil[*pgproto3.ReadyForQuery](t, b); slices.Contains(seen, "*pgproto3.ErrorResponse") {
		t.Errorf("the next client was handed the ended warm session: it got %v", seen)
	}
	if n := f.logged(`warm="closed: the server sent a message to an idle session`); n != 1 {
		t.Errorf("%d lines for the ended warm session; want 1:\n%s", n, strings.Join(f.logLines(), "\n"))
	}
}
