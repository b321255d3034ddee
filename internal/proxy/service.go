package proxy

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// What a proxy run as a service reports: counters for metrics, the sessions open now, a check
// at start, and a drain that tells the sessions it cuts why.

// Stats are a Server's counters since it was made.
type Stats struct {
	Open         int   // client sessions past the local login, now
	Total        int64 // client sessions past the local login, ever
	MintFailures int64
	Refused53300 int64 // refused: --max-sessions reached
	Refused53400 int64 // the upstream refused: DSQL's connection limits
	BytesIn      int64 // client→server, of sessions that have ended
	BytesOut     int64 // server→client, of sessions that have ended

	// Connect is how long the upstream sessions that opened took to open (TCP, TLS, startup
	// and login; not the token), clients' and warm ones alike.
	Connect Histogram
	// With Config.Warm: Warm sessions are ready for a client now; a hit is a client handed
	// one of them at once, a miss a client that waited for an upstream session to open (its
	// own, or a warm one still opening).
	Warm                 int
	WarmHits, WarmMisses int64
}

// counters is Stats' live side, in Server.
type counters struct {
	total, mintFailures, refused53300, refused53400, bytesIn, bytesOut atomic.Int64
	warmHits, warmMisses                                               atomic.Int64
	connect                                                            histogram

	mu   sync.Mutex
	live map[*session]struct{} // sessions past their startup message
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	c := &s.counters
	return Stats{Open: s.Sessions(), Total: c.total.Load(), MintFailures: c.mintFailures.Load(),
		Refused53300: c.refused53300.Load(), Refused53400: c.refused53400.Load(),
		BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(),
		Connect: c.connect.snapshot(), Warm: s.Warm(), WarmHits: c.warmHits.Load(), WarmMisses: c.warmMisses.Load()}
}

// connectBuckets are the upper bounds, in seconds, of the connect-latency histogram: from a
// cluster in the same region (a few milliseconds) to a dial that TLS or a loaded server holds
// up for seconds; slower ones fall in +Inf.
var connectBuckets = [...]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Histogram is a snapshot of a latency histogram, as Prometheus reads one.
type Histogram struct {
	Bounds []float64 // the buckets' upper bounds in seconds, +Inf left out
	Counts []int64   // cumulative: Counts[i] observations took at most Bounds[i]
	Count  int64     // every observation (+Inf's bucket)
	Sum    float64   // seconds
}

type histogram struct {
	mu     sync.Mutex
	counts [len(connectBuckets) + 1]int64 // per bucket, not cumulative; the last is +Inf's
	sum    time.Duration
}

func (h *histogram) observe(d time.Duration) {
	i, _ := slices.BinarySearch(connectBuckets[:], d.Seconds()) // the first bound ≥ d
	h.mu.Lock()
	h.counts[i]++
	h.sum += d
	h.mu.Unlock()
}

func (h *histogram) snapshot() Histogram {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := Histogram{Bounds: slices.Clone(connectBuckets[:]), Counts: make([]int64, len(connectBuckets)), Sum: h.sum.Seconds()}
	for i, n := range h.counts {
		out.Count += n
		if i < len(out.Counts) {
			out.Counts[i] = out.Count
		}
	}
	return out
}

// SessionInfo is one open client session, as /sessions shows it.
type SessionInfo struct {
	Profile         string    `json:"profile"`
	User            string    `json:"user"`
	Database        string    `json:"database"`
	ApplicationName string    `json:"application_name"`
	Client          string    `json:"client"`
	Start           time.Time `json:"-"`
	// State: "login" (local login, token, upstream connection), "idle", "idle in transaction",
	// "idle in failed transaction" (the server waits for the client) or "active".
	State string `json:"state"`
}

// OpenSessions lists the sessions that sent a startup message and have not ended, oldest first.
func (s *Server) OpenSessions() []SessionInfo {
	c := &s.counters
	c.mu.Lock()
	out := make([]SessionInfo, 0, len(c.live))
	for sess := range c.live {
		out = append(out, SessionInfo{Profile: s.cfg.Profile, User: sess.user, Database: sess.database,
			ApplicationName: sess.app, Client: sess.client, Start: sess.start, State: sess.watch.state()})
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b SessionInfo) int { return a.Start.Compare(b.Start) })
	return out
}

// opened registers a session once its startup message is read; the returned func ends it.
func (s *Server) opened(sess *session) func() {
	c := &s.counters
	c.mu.Lock()
	if c.live == nil {
		c.live = map[*session]struct{}{}
	}
	c.live[sess] = struct{}{}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.live, sess)
		c.mu.Unlock()
		c.bytesIn.Add(sess.in)
		c.bytesOut.Add(sess.out)
	}
}

// refused counts what a session was refused with.
func (s *Server) refused(e *pgError) {
	switch e.Code {
	case "53300":
		s.counters.refused53300.Add(1)
	case "53400":
		s.counters.refused53400.Add(1)
	}
}

// Check mints a token for user and logs in upstream once, through the path every client
// session takes (the profile's database, options and application_name), then ends that
// session. An expired SSO session or a wrong endpoint then shows when the proxy starts, not at
// its first client. The error names what failed and the fix.
func (s *Server) Check(ctx context.Context, user string) error {
	mctx, cancel := context.WithTimeout(ctx, s.cfg.MintTimeout)
	token, err := s.cfg.Mint(mctx, user)
	cancel()
	if err != nil {
		return err
	}
	params := map[string]string{}
	if o := s.cfg.Upstream.Options; o != "" {
		params["options"] = o
	}
	if a := s.cfg.Upstream.ApplicationName; a != "" {
		params["application_name"] = a
	}
	up, err := s.connect(ctx, user, s.cfg.Upstream.Database, params, token)
	if err != nil {
		var pe *pgError
		switch {
		case errors.As(err, &pe) && pe.upstream != nil:
			return errors.New("the cluster refused the login: " + pe.Error())
		case errors.As(err, &pe) && pe.Hint != "":
			return errors.New(pe.Message + ". " + pe.Hint)
		}
		return err
	}
	defer s.untrack(up.raw)
	buf, _ := (&pgproto3.Terminate{}).Encode(nil)
	up.conn.Write(buf)
	return up.conn.Close()
}

// Reachable dials the cluster's address and hangs up: TCP only, with no TLS and no login, so
// no token is sent and no session is opened. Its error names the address.
func (s *Server) Reachable(ctx context.Context) error {
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.cfg.Upstream.Addr)
	if err != nil {
		return fmt.Errorf("dsqlenv proxy: cannot connect to %s: %v", s.cfg.Upstream.Addr, err)
	}
	return c.Close()
}

// Drain stops accepting and waits for sessions to end until ctx is done. Then it tells each
// session waiting for its client (idle, or idle in a transaction) that the proxy ends it, in
// the words a PostgreSQL server shutting down uses (57P01), closes every session, and
// returns how many sessions it cut and ctx's error.
func (s *Server) Drain(ctx context.Context) (cut int, err error) {
	s.stopListening()
	s.warm.stop() // no more sessions opened ahead, and those waiting are closed
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.enter(closed)
		s.warm.wait()
		return 0, nil
	case <-ctx.Done():
	}
	s.counters.mu.Lock()
	cut = len(s.counters.live)
	var told sync.WaitGroup
	for sess := range s.counters.live {
		told.Go(sess.watch.terminate) // each within a second: a client that reads nothing waits alone
	}
	s.counters.mu.Unlock()
	told.Wait()
	s.Close()
	return cut, ctx.Err()
}

// txWatch stands between the server's bytes and the client after the hand-over: it follows
// the message framing to know whether the server waits for the client (after ReadyForQuery)
// and in which transaction state, so that a drain can tell an idle client why its session
// ends, between two messages. A client that sends anything after a ReadyForQuery makes the
// session active until the server's next one (fromClient): a query the server has not
// answered yet is running, not idle.
type txWatch struct {
	mu      sync.Mutex
	w       net.Conn // the client; nil until the hand-over
	hdr     [5]byte
	nhdr    int   // bytes of the current message's header seen
	left    int64 // bytes of the current message's body still to come
	typ     byte
	status  byte // the last ReadyForQuery's: 'I', 'T', 'E'; 0: none yet or a message since
	writing bool // a Write is passing bytes on
	closed  bool
}

func (t *txWatch) start(client net.Conn, status byte) {
	t.mu.Lock()
	t.w, t.status = client, status
	t.mu.Unlock()
}

// Write passes p on to the client, following the framing. The lock is not held while the
// client takes the bytes, which a stuck client could make last for ever.
func (t *txWatch) Write(p []byte) (int, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return 0, net.ErrClosed
	}
	for q := p; len(q) > 0; {
		if t.left > 0 {
			n := min(int64(len(q)), t.left)
			if t.typ == 'Z' && n > 0 {
				t.status = q[0] // ReadyForQuery's body is the one status byte
			}
			t.left -= n
			q = q[n:]
			continue
		}
		n := copy(t.hdr[t.nhdr:], q)
		t.nhdr += n
		q = q[n:]
		if t.nhdr == len(t.hdr) {
			t.typ, t.nhdr = t.hdr[0], 0
			t.left = int64(binary.BigEndian.Uint32(t.hdr[1:])) - 4
			t.status = 0
		}
	}
	t.writing = true
	t.mu.Unlock()
	n, err := t.w.Write(p)
	t.mu.Lock()
	t.writing = false
	t.mu.Unlock()
	return n, err
}

// fromClient returns the client's side of the session as the client→server copy reads it:
// whatever the client sends marks the session active before it reaches the server, so the
// server's answer, ReadyForQuery included, always comes after the mark.
func (t *txWatch) fromClient(c net.Conn) net.Conn { return clientSide{c, t} }

type clientSide struct {
	net.Conn
	t *txWatch
}

func (c clientSide) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.t.sent()
	}
	return n, err
}

// sent marks that the client sent bytes: the server no longer waits for it.
func (t *txWatch) sent() {
	t.mu.Lock()
	t.status = 0
	t.mu.Unlock()
}

func (t *txWatch) state() string {
	if t == nil {
		return "login"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.w == nil:
		return "login"
	case t.writing || t.left > 0 || t.nhdr > 0:
		return "active"
	}
	switch t.status {
	case 'I':
		return "idle"
	case 'T':
		return "idle in transaction"
	case 'E':
		return "idle in failed transaction"
	}
	return "active"
}

// terminate sends a client whose server waits for it a FATAL 57P01, and lets nothing more
// through.
func (t *txWatch) terminate() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.w == nil || t.closed {
		return
	}
	t.closed = true
	if t.status == 0 || t.writing || t.left > 0 || t.nhdr > 0 {
		return // mid-answer: a message now would break the stream
	}
	buf, _ := (&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "57P01",
		Message: "terminating connection due to administrator command",
		Detail:  "dsqlenv proxy: the drain's time is up (--drain)"}).Encode(nil)
	t.w.SetWriteDeadline(time.Now().Add(time.Second))
	t.w.Write(buf)
}
