package proxy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Sessions opened ahead (Config.Warm). Most of what a new DSQL connection costs is round
// trips to the region: TCP, TLS, the startup and the password exchange. The proxy pays them
// before a client asks: for each startup it has served (user, database and the client's
// parameters: options, application_name and any other), it keeps up to Config.Warm upstream
// sessions through TLS and login, and hands one to the next client with that startup at once.
// A warm session serves exactly one client and is never returned, so no state crosses
// clients: this is not pooling. It is closed and replaced once it has waited Config.WarmAge,
// so that a client always gets nearly all of DSQL's 60-minute session; one the server ended
// meanwhile is found before the hand-over and closed instead.

const (
	defaultWarmAge = 2 * time.Minute
	// maxWarmKeys bounds the startups kept warm: a new one beyond it closes the warm sessions
	// of the startup whose last client is the oldest.
	maxWarmKeys = 8
)

type warmSession struct {
	up     *upstreamConn
	opened time.Time // on the server's clock
}

// warmGroup is the warm sessions of one startup.
type warmGroup struct {
	user, database string
	params         map[string]string
	idle           []*warmSession // oldest first
	opening        int
	waiters        []chan *upstreamConn // clients waiting for a session being opened, first first
	landed         bool                 // an open has ended
	used           time.Time            // the last client's arrival, for maxWarmKeys

	// The demand, for opening ahead of it (ahead): clients of this startup a second, as a
	// moving average over about rateWindow, and the time the last opens took.
	rate     float64
	rateAt   time.Time
	openTime time.Duration
}

// rateWindow is how far back the arrival rate looks: long enough to smooth a pool's or
// pgbench's clients coming in pairs, short enough that the opens ahead stop within seconds
// of the clients.
const rateWindow = time.Second

// arrive counts a client's arrival at now in the startup's rate.
func (g *warmGroup) arrive(now time.Time) {
	g.rate = g.rateNow(now) + 1/rateWindow.Seconds()
	g.rateAt = now
}

// rateNow is the arrival rate at now: it decays between arrivals.
func (g *warmGroup) rateNow(now time.Time) float64 {
	if g.rateAt.IsZero() {
		return 0
	}
	return g.rate * math.Exp(-now.Sub(g.rateAt).Seconds()/rateWindow.Seconds())
}

// ahead is how many sessions of this startup the clients use up while one opens (their
// rate times an open's time, by Little's law): the sessions the proxy keeps opening or
// ready beyond --warm, so that clients arriving at that rate keep finding one ready.
func (g *warmGroup) ahead(now time.Time) int {
	return int(math.Round(g.rateNow(now) * g.openTime.Seconds()))
}

type warmPool struct {
	s   *Server
	n   int
	age time.Duration

	// held counts the slots of Config.MaxSessions that warm sessions hold (open, or being
	// opened) and no client has taken yet: Server.Sessions leaves them out.
	held atomic.Int64

	mu      sync.Mutex
	stopped bool
	swept   bool // the sweeper runs: started by the first fill
	groups  map[string]*warmGroup
	wg      sync.WaitGroup // opens in flight and the sweeper
}

// newWarmPool returns nil (every method then does nothing) when n is 0.
func newWarmPool(s *Server, n int, age time.Duration) *warmPool {
	if n <= 0 {
		return nil
	}
	if age <= 0 {
		age = defaultWarmAge
	}
	return &warmPool{s: s, n: n, age: age, groups: map[string]*warmGroup{}}
}

// warmKey is a startup as a map key: NUL cannot occur in a startup packet's strings.
func warmKey(user, database string, params map[string]string) string {
	var b strings.Builder
	b.WriteString(user + "\x00" + database)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		b.WriteString("\x00" + k + "\x00" + params[k])
	}
	return b.String()
}

// take returns a live warm session of this startup, or nil. When none is ready but one is
// being opened that no other client waits for, the client waits for it, as long as ctx lasts
// (its connection, watchClient): it is further along than a connection the client would start
// now. A client that leaves meanwhile gives up its place at once, and the session goes to the
// next client waiting or stays warm. The session keeps the slot of Config.MaxSessions it
// holds: the caller gives it back when the client's session ends. Warm sessions found too old
// or ended by the server are closed on the way. A client handed a session ready when it came
// counts as a warm hit, any other as a miss.
func (p *warmPool) take(ctx context.Context, user, database string, params map[string]string) *upstreamConn {
	if p == nil {
		return nil
	}
	up, ready := p.takeOne(ctx, user, database, params)
	if ready {
		p.s.counters.warmHits.Add(1)
	} else {
		p.s.counters.warmMisses.Add(1)
	}
	return up
}

// takeOne is take; ready says the session was ready when the client came (a hit), rather
// than opened while it waited.
func (p *warmPool) takeOne(ctx context.Context, user, database string, params map[string]string) (up *upstreamConn, ready bool) {
	key := warmKey(user, database, params)
	for {
		p.mu.Lock()
		g := p.groups[key]
		if p.stopped || g == nil {
			p.mu.Unlock()
			return nil, false
		}
		g.used = p.s.now()
		if len(g.idle) == 0 {
			// None ready: the clients of this startup come faster than p.n cover, so one
			// more is opened (not for its first client, whose arrival opened p.n+1).
			if g.landed {
				p.fillLocked(key, g, 1)
			}
			if g.opening <= len(g.waiters) {
				p.mu.Unlock()
				return nil, false
			}
			// open hands the next session it opens for g to the first waiter, or nil when
			// the open failed.
			ch := make(chan *upstreamConn, 1)
			g.waiters = append(g.waiters, ch)
			p.mu.Unlock()
			return p.await(ctx, key, g, ch), false
		}
		w := g.idle[0]
		g.idle = g.idle[1:]
		p.mu.Unlock()
		if why := p.unusable(w); why != "" {
			p.close(g, w, why)
			continue
		}
		p.held.Add(-1) // the client's now
		return w.up, true
	}
}

// await waits for the session that open hands to the waiter ch of g, or nil, until ctx ends.
func (p *warmPool) await(ctx context.Context, key string, g *warmGroup, ch chan *upstreamConn) *upstreamConn {
	select {
	case up := <-ch:
		return up
	case <-ctx.Done():
	}
	p.mu.Lock()
	if i := slices.Index(g.waiters, ch); i >= 0 {
		g.waiters = slices.Delete(g.waiters, i, i+1)
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	// An open landed and chose this client as it left: its session (sent at once, ch has
	// room) goes back to the pool, to the next client waiting or among the ready ones.
	if up := <-ch; up != nil {
		p.held.Add(1) // the pool's again
		p.mu.Lock()
		next, why := p.placeLocked(key, g, up)
		p.mu.Unlock()
		p.place(g, up, next, why, "kept: the client it was opened for left")
	}
	return nil
}

// unusable says why a warm session cannot be handed over, or "".
func (p *warmPool) unusable(w *warmSession) string {
	if age := p.s.now().Sub(w.opened); age >= p.age {
		return fmt.Sprintf("unused for %s (--warm-age %s)", age.Round(time.Second), p.age)
	}
	// An idle session receives nothing until it sends a query; anything it holds now (an
	// ErrorResponse such as 57P01, or the end of the connection) means the server ended it.
	// The TLS connection holds first what came with the startup's last record or read.
	if why := buffered(w.up.conn); why != "" {
		return why
	}
	return ended(w.up.raw)
}

// buffered says why the server has ended an idle TLS connection, from what c holds already
// and the socket no longer does, or "": what the server sent in the same TLS record as its
// ReadyForQuery (the startup reads message by message, so the rest of that record stays
// decrypted in c), or records that came in the same read. A read whose deadline has passed
// returns what c holds without trying the socket: Go's poller fails it first.
func buffered(c net.Conn) string {
	c.SetReadDeadline(time.Unix(1, 0))
	defer c.SetReadDeadline(time.Time{})
	var b [1]byte
	n, err := c.Read(b[:])
	switch {
	case n > 0:
		return "the server sent a message to an idle session (it ended it)"
	case err == nil || errors.Is(err, os.ErrDeadlineExceeded):
		return ""
	}
	return "the server closed it: " + err.Error()
}

// fill is told that a client of this startup arrived: it opens sessions of the startup until
// it has p.n ready or opening besides the one the client will take, and at least one, so that
// a burst of clients (a pool, pgbench -C) finds sessions ready, or nearly, at the rate it
// takes them. Sessions that land beyond p.n ready with no client waiting are closed. The opens
// go through the same pacing as a client's, as far as Config.MaxSessions leaves room.
func (p *warmPool) fill(user, database string, params map[string]string) {
	if p == nil {
		return
	}
	key := warmKey(user, database, params)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	g := p.groups[key]
	if g == nil {
		if len(p.groups) >= maxWarmKeys {
			p.dropOldestLocked()
		}
		g = &warmGroup{user: user, database: database, params: maps.Clone(params)}
		p.groups[key] = g
	}
	g.used = p.s.now()
	g.arrive(g.used)
	p.fillLocked(key, g, 1)
	if !p.swept {
		p.swept = true
		p.wg.Add(1)
		go p.sweeper()
	}
}

// fillLocked opens sessions for g until it has p.n+more ready or opening, plus what its
// clients use up while one opens (ahead), and at least more.
func (p *warmPool) fillLocked(key string, g *warmGroup, more int) {
	want := p.n + g.ahead(p.s.now()) + more
	for i := 0; i < more || len(g.idle)+g.opening < want; i++ {
		if !p.acquire() {
			return
		}
		g.opening++
		p.wg.Add(1)
		go p.open(key, g)
	}
}

// open opens one warm session for g, holding a slot of Config.MaxSessions taken by fillLocked.
func (p *warmPool) open(key string, g *warmGroup) {
	defer p.wg.Done()
	start := p.s.now()
	up, pe := p.s.open(p.s.ctx, g.user, g.database, g.params)
	took := p.s.now().Sub(start)
	p.mu.Lock()
	g.opening--
	g.landed = true
	if pe == nil {
		g.openTime = took
	}
	if pe != nil {
		var next chan *upstreamConn
		if len(g.waiters) > 0 {
			next = g.waiters[0]
			g.waiters = g.waiters[1:]
		}
		p.mu.Unlock()
		p.release()
		p.log(g, "not opened: "+pe.Message)
		if next != nil {
			next <- nil // the client opens its own
		}
		return
	}
	next, why := p.placeLocked(key, g, up)
	p.mu.Unlock()
	p.place(g, up, next, why, "opened")
}

// placeLocked decides where a session opened for g goes: to the first client waiting (next,
// taken off the list), among the ready ones, or closed (why).
func (p *warmPool) placeLocked(key string, g *warmGroup, up *upstreamConn) (next chan *upstreamConn, why string) {
	switch {
	case len(g.waiters) > 0:
		next = g.waiters[0]
		g.waiters = g.waiters[1:]
	case p.stopped || p.groups[key] != g:
		why = "the proxy is shutting down"
		if !p.stopped {
			why = fmt.Sprintf("a newer startup took its place (at most %d are kept warm)", maxWarmKeys)
		}
	case len(g.idle) >= p.n+g.ahead(p.s.now()):
		why = fmt.Sprintf("%d ready already (--warm %d)", len(g.idle), p.n)
		if a := g.ahead(p.s.now()); a > 0 {
			why = fmt.Sprintf("%d ready already (--warm %d, and %d more for the rate clients come at)", len(g.idle), p.n, a)
		}
	default:
		g.idle = append(g.idle, &warmSession{up: up, opened: p.s.now()})
	}
	return next, why
}

// place carries out placeLocked's decision, outside the lock; kept is the log's word for a
// session put among the ready ones.
func (p *warmPool) place(g *warmGroup, up *upstreamConn, next chan *upstreamConn, why, kept string) {
	switch {
	case next != nil:
		p.log(g, "opened for a waiting client")
		p.held.Add(-1) // the client's now
		next <- up
	case why != "":
		p.close(g, &warmSession{up: up}, why)
	default:
		p.log(g, kept)
	}
}

// close ends a warm session that is no longer in its group and gives back its slot.
func (p *warmPool) close(g *warmGroup, w *warmSession, why string) {
	// A Terminate, so that the server ends the session as a client would.
	w.up.conn.SetWriteDeadline(time.Now().Add(time.Second))
	w.up.conn.Write([]byte{'X', 0, 0, 0, 4})
	w.up.conn.Close()
	p.s.untrack(w.up.raw)
	p.release()
	p.log(g, "closed: "+why)
}

// acquire takes a slot of Config.MaxSessions for a warm session, when the limit leaves one.
func (p *warmPool) acquire() bool {
	// held moves first here and last in release: for a moment Sessions may count one client
	// too few, never one too many.
	p.held.Add(1)
	n := p.s.sessions.Add(1)
	if max := p.s.cfg.MaxSessions; max > 0 && n > int64(max) {
		p.release()
		return false
	}
	return true
}

// release gives back the slot of a warm session that no client took.
func (p *warmPool) release() {
	p.s.sessions.Add(-1)
	p.held.Add(-1)
}

// slots returns the slots of Config.MaxSessions held by warm sessions no client has.
func (p *warmPool) slots() int64 {
	if p == nil {
		return 0
	}
	return p.held.Load()
}

func (p *warmPool) log(g *warmGroup, what string) {
	p.s.log(fmt.Sprintf("dsqlenv proxy: profile=%s user=%s database=%s application_name=%s warm=%q",
		p.s.cfg.Profile, logField(g.user, maxLogName), logField(g.database, maxLogName), logField(g.params["application_name"], maxLogName), what))
}

// evict closes the oldest idle warm session, of any startup, to free its slot for a client;
// it reports whether there was one.
func (p *warmPool) evict() bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	var (
		og *warmGroup
		ow *warmSession
	)
	for _, g := range p.groups {
		if len(g.idle) > 0 && (ow == nil || g.idle[0].opened.Before(ow.opened)) {
			og, ow = g, g.idle[0]
		}
	}
	if ow != nil {
		og.idle = og.idle[1:]
	}
	p.mu.Unlock()
	if ow == nil {
		return false
	}
	p.close(og, ow, "a client needed its slot (--max-sessions)")
	return true
}

// dropOldestLocked closes the warm sessions of the startup whose last client is the oldest.
func (p *warmPool) dropOldestLocked() {
	var oldest string
	for k, g := range p.groups {
		if oldest == "" || g.used.Before(p.groups[oldest].used) {
			oldest = k
		}
	}
	g := p.groups[oldest]
	delete(p.groups, oldest)
	for _, w := range g.idle {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.close(g, w, fmt.Sprintf("a newer startup took its place (at most %d are kept warm)", maxWarmKeys))
		}()
	}
	g.idle = nil
}

// sweep closes the warm sessions that are too old or that the server ended, and those
// beyond what the clients' rate still needs, and opens others in their place.
func (p *warmPool) sweep() {
	type gone struct {
		g   *warmGroup
		w   *warmSession
		why string
	}
	var closed []gone
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	for _, g := range p.groups {
		kept := g.idle[:0]
		for _, w := range g.idle {
			if why := p.unusable(w); why != "" {
				closed = append(closed, gone{g, w, why})
			} else {
				kept = append(kept, w)
			}
		}
		clear(g.idle[len(kept):])
		g.idle = kept
		// Sessions kept for a rate of clients that has passed: the oldest go first.
		if extra := len(g.idle) - p.n - g.ahead(p.s.now()); extra > 0 {
			for _, w := range g.idle[:extra] {
				closed = append(closed, gone{g, w, fmt.Sprintf("more ready than --warm %d now that clients come slower", p.n)})
			}
			g.idle = slices.Delete(g.idle, 0, extra)
		}
	}
	p.mu.Unlock()
	for _, c := range closed {
		p.close(c.g, c.w, c.why)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	for k, g := range p.groups {
		p.fillLocked(k, g, 0)
	}
}

// sweeper sweeps every quarter of the age on the real clock until the server stops. (take
// checks the age again, on the server's clock, before every hand-over.)
func (p *warmPool) sweeper() {
	defer p.wg.Done()
	t := time.NewTicker(max(p.age/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-p.s.ctx.Done():
			return
		case <-t.C:
			p.sweep()
		}
	}
}

// stop closes every idle warm session and opens no more; an open in flight closes its
// session when it completes. Called when the server begins to shut down.
func (p *warmPool) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	type gone struct {
		g *warmGroup
		w *warmSession
	}
	var closed []gone
	for _, g := range p.groups {
		for _, w := range g.idle {
			closed = append(closed, gone{g, w})
		}
		g.idle = nil
	}
	p.mu.Unlock()
	for _, c := range closed {
		p.close(c.g, c.w, "the proxy is shutting down")
	}
}

// wait waits for the opens in flight and the sweeper, once the server's context is done.
func (p *warmPool) wait() {
	if p != nil {
		p.wg.Wait()
	}
}

// Warm returns the number of warm sessions ready to be handed over.
func (s *Server) Warm() int {
	p := s.warm
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, g := range p.groups {
		n += len(g.idle)
	}
	return n
}
