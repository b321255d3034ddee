package testkit

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy on 127.0.0.1 that holds every chunk it forwards for a fixed time, in
// each direction and in order, as a network with that one-way latency would: a client
// through it pays two delays per round trip. It also keeps the first bytes each client sent,
// so a test can tell an SSLRequest from a TLS ClientHello.
type Proxy struct {
	Addr string // host:port to connect to instead of the target

	target string
	delay  time.Duration
	ln     net.Listener
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool
	first  [][]byte
}

// DelayProxy starts a proxy to target (host:port) that delays each forwarded chunk by delay
// (0 forwards at once). It stops, closing every connection, when the test ends.
func DelayProxy(t testing.TB, target string, delay time.Duration) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, delay: delay, ln: ln, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// FirstClientBytes returns, for each connection accepted so far and in the order they came,
// the first chunk its client sent (nil while it has sent nothing).
func (p *Proxy) FirstClientBytes() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.first...)
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // the listener was closed
		}
		p.mu.Lock()
		i := len(p.first)
		p.first = append(p.first, nil)
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(client, i)
	}
}

// serve forwards one connection both ways until both sides have finished sending.
func (p *Proxy) serve(client net.Conn, i int) {
	defer p.wg.Done()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client, server) {
		return
	}
	done := make(chan struct{})
	go func() {
		p.forward(server, client, func(b []byte) {
			p.mu.Lock()
			p.first[i] = append([]byte(nil), b...)
			p.mu.Unlock()
		})
		close(done)
	}()
	p.forward(client, server, nil)
	<-done
	p.untrack(client, server)
}

type chunk struct {
	data []byte
	due  time.Time
}

// forward copies src to dst, each chunk delay after it arrived, then half-closes dst so its
// reader sees the end too. first, when set, gets the first chunk.
func (p *Proxy) forward(dst, src net.Conn, first func([]byte)) {
	// Reading goes on while earlier chunks wait, so a burst is delayed once, not chunk by chunk.
	chunks := make(chan chunk, 64)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				if first != nil {
					first(buf[:n])
					first = nil
				}
				chunks <- chunk{buf[:n], time.Now().Add(p.delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range chunks {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.data); err != nil {
			src.Close() // stops the reader; what it already read is dropped
			for range chunks {
			}
			return
		}
	}
	if tcp, ok := dst.(*net.TCPConn); ok {
		tcp.CloseWrite()
	}
}

func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = true
	}
	return true
}

func (p *Proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *Proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
