package proxy

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// tokenBucket paces new upstream connections: rate per second, up to burst at once. Callers
// wait for their turn rather than fail.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rate float64, burst int) *tokenBucket {
	return &tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

// wait takes a token, waiting for one as long as ctx allows; on ctx's end the token is given back.
func (b *tokenBucket) wait(ctx context.Context) error {
	b.mu.Lock()
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens--
	var d time.Duration
	if b.tokens < 0 {
		d = time.Duration(-b.tokens / b.rate * float64(time.Second))
	}
	b.mu.Unlock()
	if d == 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		b.tokens = min(b.burst, b.tokens+1)
		b.mu.Unlock()
		return ctx.Err()
	}
}

// upstreamKey is what cancels a query of one upstream session.
type upstreamKey struct {
	addr   string // the address the session is connected to
	pid    uint32
	secret []byte
}

// keyMap hands each client its own random backend key and maps it to its upstream's, so a
// cancel request reaches only the session its sender owns.
type keyMap struct {
	mu sync.Mutex
	m  map[uint32]keyEntry
}

type keyEntry struct {
	secret [4]byte
	up     upstreamKey
}

func newKeyMap() *keyMap { return &keyMap{m: map[uint32]keyEntry{}} }

// add registers an upstream key and returns the client's (pid, secret).
func (k *keyMap) add(up upstreamKey) (uint32, [4]byte) {
	var b [8]byte
	k.mu.Lock()
	defer k.mu.Unlock()
	for {
		rand.Read(b[:])
		pid := binary.BigEndian.Uint32(b[:4]) & 0x7fffffff // positive, as a PostgreSQL pid
		if _, taken := k.m[pid]; pid == 0 || taken {
			continue
		}
		var secret [4]byte
		copy(secret[:], b[4:])
		k.m[pid] = keyEntry{secret: secret, up: up}
		return pid, secret
	}
}

func (k *keyMap) remove(pid uint32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, pid)
}

// lookup returns the upstream key for a client's (pid, secret), if they match one.
func (k *keyMap) lookup(pid uint32, secret []byte) (upstreamKey, bool) {
	k.mu.Lock()
	e, ok := k.m[pid]
	k.mu.Unlock()
	if !ok || len(secret) != len(e.secret) || subtle.ConstantTimeCompare(secret, e.secret[:]) != 1 {
		return upstreamKey{}, false
	}
	return e.up, true
}

// lineLimiter passes at most burst log lines a period and counts the rest; the next line it
// passes says how many it left out. Connections that never log in cost the client nothing
// to make, so their lines would otherwise let anyone who can connect flood the log.
type lineLimiter struct {
	mu      sync.Mutex
	now     func() time.Time
	period  time.Duration
	burst   int
	start   time.Time // of the current period
	passed  int       // in the current period
	dropped int       // since the last line passed
}

func newLineLimiter(now func() time.Time, burst int, period time.Duration) *lineLimiter {
	return &lineLimiter{now: now, period: period, burst: burst}
}

// pass returns the line to log, with the count of lines left out before it, or "" to log
// nothing.
func (l *lineLimiter) pass(line string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := l.now(); now.Sub(l.start) >= l.period {
		l.start, l.passed = now, 0
	}
	if l.passed >= l.burst {
		l.dropped++
		return ""
	}
	l.passed++
	if l.dropped > 0 {
		line += fmt.Sprintf(" (and %d more such lines left out)", l.dropped)
		l.dropped = 0
	}
	return line
}

// logField is s cut to max bytes, on a character boundary, and quoted, which escapes every
// control character: one line, safe on a terminal. It bounds in a log line what a client
// chose, such as a user name.
func logField(s string, max int) string {
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strconv.Quote(s)
}
