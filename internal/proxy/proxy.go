// Package proxy is the core of `dsqlenv proxy`: a local PostgreSQL endpoint, on a Unix socket
// or a loopback TCP port, that opens every upstream connection with a freshly minted IAM
// token. Clients (GUIs, pools, psql reconnecting) authenticate locally — by peer UID on the
// socket, by SCRAM-SHA-256 with a local password over TCP — and never see a token; after the
// upstream handshake the proxy hands the session over and copies bytes both ways.
//
// The package takes plain values and a mint function; the CLI wires in profiles and AWS:
//
//	srv, err := proxy.New(proxy.Config{Profile: "prod", Upstream: up, Mint: mint,
//		Password: localPassword, PeerUID: os.Getuid(), Log: logLine})
//	uln, err := proxy.ListenUnix(filepath.Join(dir0700, ".s.PGSQL.5432"))
//	go srv.Serve(uln)              // psql "host=dir0700 port=5432"
//	tln, err := net.Listen("tcp", "127.0.0.1:5432") // check proxy.IsLoopback first
//	go srv.Serve(tln)              // TCP clients give Password by SCRAM-SHA-256
//	…
//	srv.Shutdown(ctx)              // on SIGINT/SIGTERM; Serve then returns nil
//
// Each client connection: the startup packet (an SSLRequest over TCP starts TLS when
// Config.TLS is set; otherwise it and GSSENCRequest are answered 'N';
// protocol 3.x is negotiated down to 3.0 with NegotiateProtocolVersion; anything else gets an
// ErrorResponse), the local check, a token from Mint for the user asked for, an upstream
// connection (verify-full TLS, direct or after an SSLRequest, the token as password), then
// AuthenticationOk, the upstream's NoticeResponses and ParameterStatus messages, a BackendKeyData
// of the proxy's own when the upstream sent one (cancel requests are mapped back to the
// upstream session) and ReadyForQuery, and from then on bytes are copied both ways. Every refusal reaches the client
// as an ErrorResponse with an SQLSTATE; an upstream error is passed on whole.
package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Minter returns a fresh IAM token for user (DbConnectAdmin for "admin", DbConnect otherwise;
// the minter decides). Its error text is shown to the client, so it should name the fix. A
// failure only the user can fix is wrapped in UserError; any other is told as 08001
// (sqlclient_unable_to_establish_sqlconnection), which drivers and pools retry.
type Minter func(ctx context.Context, user string) (string, error)

// UserError marks a Minter's error as one only the user can fix, such as no AWS credentials
// configured or no SSO login: the client is told 28000 (invalid authorization), and its
// message names the fix.
func UserError(err error) error { return userError{err} }

type userError struct{ error }

func (e userError) Unwrap() error { return e.error }

// Upstream is the server the proxy connects to.
type Upstream struct {
	Addr       string         // host:port to dial
	ServerName string         // TLS server name: SNI, and verify-full against RootCAs
	RootCAs    *x509.CertPool // nil: the system roots
	RootsFile  string         // named in TLS error messages
	Direct     bool           // direct TLS with ALPN "postgresql"; else SSLRequest first
	// Region is the DSQL cluster's, named in the hint to DSQL's access-denied error; "" for
	// a server that is not DSQL.
	Region string

	// Defaults for a client's startup parameters, used when the client gives none.
	Database        string
	Options         string
	ApplicationName string
}

// Config configures a Server.
type Config struct {
	Profile  string // named in errors and log lines
	Upstream Upstream
	Mint     Minter

	// Password is the local SCRAM-SHA-256 password TCP clients must give; "" means none is
	// asked for. Unix socket clients are checked by PeerUID instead.
	Password string
	// PeerUID is the only peer UID allowed on a Unix socket; -1 does not check. (The zero
	// value lets only root in: set it, usually to os.Getuid().)
	PeerUID int

	// TLS, when set, is what a TCP client that asks for TLS with an SSLRequest gets
	// (sslmode=require, a GUI's default); without it, and always on a Unix socket, the answer
	// is 'N' and the client goes on in plain text or gives up. TLSCertFile names its
	// certificate in the log line about a client that could not verify it.
	TLS         *tls.Config
	TLSCertFile string

	MaxSessions int // authenticated sessions; 0: no limit; beyond it a client gets 53300
	// MaxPending bounds connections that have not finished the local login (startup packet,
	// peer check, password), which cost a client nothing to hold until the startup deadline;
	// beyond it a new connection is closed at once, before it takes more descriptors.
	// Default 256 (pgbouncer's max_client_conn, for every client, is 100).
	MaxPending int
	Rate       float64 // new upstream connections per second (default 100); callers wait
	Burst      int     // default 1000

	// Log receives one line per session when it ends, from the session's goroutine (so
	// concurrently); nil is quiet. Lines never hold a token or a password.
	Log func(line string)

	// Warm is how many upstream sessions to keep open ahead for each startup (user,
	// database, options, application_name…) the proxy has served; 0: none. They count
	// against MaxSessions and the pacing (see warm.go).
	Warm int
	// WarmAge is how long a warm session may wait for a client before it is replaced;
	// default 2 minutes.
	WarmAge time.Duration

	DialTimeout time.Duration // upstream dial, TLS and authentication; default 30 s
	MintTimeout time.Duration // default 60 s
}

const (
	defaultRate           = 100
	defaultBurst          = 1000
	defaultDialTimeout    = 30 * time.Second
	defaultMintTimeout    = 60 * time.Second
	defaultStartupTimeout = 30 * time.Second
	defaultMaxPending     = 256
	// At most preLoginLines lines a minute for connections that never logged in.
	preLoginLines = 20
	cancelTimeout = 10 * time.Second
	closeGrace    = 2 * time.Second
)

// Server is a running proxy. Create it with New and start it with Serve.
type Server struct {
	cfg     Config
	scram   *scramCreds // nil when no local password is set
	tls     *tls.Config
	limiter *tokenBucket
	keys    *keyMap
	warm    *warmPool // nil without Config.Warm

	// startupTimeout bounds everything before the upstream connection: reading the startup
	// packet and local authentication.
	startupTimeout time.Duration
	now            func() time.Time // the clock of the log's rate limit

	pending  atomic.Int64 // connections before the end of their local login
	preLogin *lineLimiter // their log lines

	ctx    context.Context // canceled when the state reaches closed (enter)
	cancel context.CancelFunc

	sessions atomic.Int64
	counters counters       // Stats and OpenSessions (service.go)
	wg       sync.WaitGroup // one per live connection handler

	mu        sync.Mutex
	state     state
	listeners map[net.Listener]struct{}
	// conns holds client and upstream connections; true: Close closes it at once, false: a
	// client still being set up, which Close lets say why it ends.
	conns map[net.Conn]bool
}

// state is where a Server is in its life. It only moves forward, under Server.mu; s.ctx is
// canceled when it reaches closed.
type state int

const (
	serving  state = iota
	draining       // Shutdown or Drain began: no new clients; sessions being set up go on
	closed         // Close: every connection ends
)

// New checks cfg and returns a Server that is not yet serving.
func New(cfg Config) (*Server, error) {
	if cfg.Mint == nil {
		return nil, errors.New("dsqlenv proxy: no token minter")
	}
	if cfg.Upstream.Addr == "" {
		return nil, errors.New("dsqlenv proxy: no upstream address")
	}
	if _, _, err := net.SplitHostPort(cfg.Upstream.Addr); err != nil {
		return nil, fmt.Errorf("dsqlenv proxy: upstream address %q: %v", cfg.Upstream.Addr, err)
	}
	if cfg.Upstream.ServerName == "" {
		host, _, _ := net.SplitHostPort(cfg.Upstream.Addr)
		cfg.Upstream.ServerName = host
	}
	if cfg.Rate <= 0 {
		cfg.Rate = defaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = defaultBurst
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = defaultDialTimeout
	}
	if cfg.MintTimeout <= 0 {
		cfg.MintTimeout = defaultMintTimeout
	}
	if cfg.MaxSessions < 0 {
		cfg.MaxSessions = 0
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = defaultMaxPending
	}
	s := &Server{
		cfg:            cfg,
		limiter:        newTokenBucket(cfg.Rate, cfg.Burst),
		keys:           newKeyMap(),
		startupTimeout: defaultStartupTimeout,
		now:            time.Now,
		listeners:      map[net.Listener]struct{}{},
		conns:          map[net.Conn]bool{},
	}
	if cfg.Password != "" {
		c, err := newScramCreds(cfg.Password)
		if err != nil {
			return nil, err
		}
		s.scram = c
	}
	s.tls = &tls.Config{
		ServerName: cfg.Upstream.ServerName,
		RootCAs:    cfg.Upstream.RootCAs,
		MinVersion: tls.VersionTLS12,
		// A new session resumes the TLS session of an earlier one when the server gave a
		// ticket: no certificate chain to send and verify again, a shorter handshake for every
		// connection a pool opens. The chain was verified when the session was made, and Go
		// checks on resumption that it has not expired since.
		ClientSessionCache: tls.NewLRUClientSessionCache(0),
	}
	if cfg.Upstream.Direct {
		s.tls.NextProtos = []string{"postgresql"}
	}
	s.preLogin = newLineLimiter(func() time.Time { return s.now() }, preLoginLines, time.Minute)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.warm = newWarmPool(s, cfg.Warm, cfg.WarmAge)
	return s, nil
}

// ErrServerClosed is returned by Serve when called after Shutdown or Close.
var ErrServerClosed = errors.New("dsqlenv proxy: server closed")

// Serve accepts connections on ln until Shutdown or Close, and then returns nil; any other
// accept error is returned. A TCP listener must be on a loopback address. Unix socket
// clients are checked against Config.PeerUID; TCP clients must know Config.Password. Serve
// closes ln when it returns (a Unix listener then removes its socket file).
func (s *Server) Serve(ln net.Listener) error {
	unix := false
	switch a := ln.Addr().(type) {
	case *net.UnixAddr:
		unix = true
	case *net.TCPAddr:
		if !a.IP.IsLoopback() {
			ln.Close()
			return fmt.Errorf("dsqlenv proxy: refusing to listen on %s: not a loopback address", a)
		}
	}
	s.mu.Lock()
	if s.state != serving {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()

	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.lifeState() != serving {
				return nil
			}
			if !errors.Is(err, net.ErrClosed) {
				// Out of descriptors, say: wait a little instead of spinning or giving up.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(backoff):
				case <-s.ctx.Done():
					return nil
				}
				continue
			}
			return err
		}
		backoff = 0
		if s.pending.Add(1) > int64(s.cfg.MaxPending) {
			s.pending.Add(-1)
			s.logPreLogin(fmt.Sprintf("dsqlenv proxy: profile=%s client=%s end=%q", s.cfg.Profile, clientName(c, unix),
				fmt.Sprintf("closed at once: %d connections have not finished the local login (the limit)", s.cfg.MaxPending)))
			c.Close()
			continue
		}
		if !s.track(c, true) {
			s.pending.Add(-1)
			c.Close()
			return nil
		}
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			defer c.Close()
			s.handle(c, unix)
		}()
	}
}

// track registers a connection so that Close can end it (and, for a client, counts its
// handler in s.wg); it reports false when the server
// is closed, or for a new client when the server is shutting down. (While Shutdown drains, a
// session still being set up may open its upstream connection.)
func (s *Server) track(c net.Conn, client bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == closed || client && s.state != serving {
		return false
	}
	if client {
		// Under the lock with the closing check, so no Add comes after Shutdown's Wait began.
		s.wg.Add(1)
	}
	s.conns[c] = !client
	return true
}

// setUp marks a client as past its setup, unless the server is closed.
func (s *Server) setUp(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == closed {
		return false
	}
	s.conns[c] = true
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// Sessions returns the number of client sessions being served or set up (clients that
// passed the local check, peer UID or password, and have not ended). Config.MaxSessions
// limits this number and the warm sessions together, but a warm one gives its slot to a client.
func (s *Server) Sessions() int { return int(max(0, s.sessions.Load()-s.warm.slots())) }

// Shutdown stops accepting, waits for sessions to end until ctx is done, then closes the
// rest (Drain). It returns ctx's error when it had to close sessions.
func (s *Server) Shutdown(ctx context.Context) error {
	_, err := s.Drain(ctx)
	return err
}

// Close closes the listeners and every connection now, and waits for the handlers to end.
// A client still being set up (waiting for its token or upstream connection) is first told
// that the proxy is shutting down (57P01), for up to closeGrace.
func (s *Server) Close() error {
	s.enter(closed)
	s.warm.stop()
	s.mu.Lock()
	for c, now := range s.conns {
		if now {
			c.Close()
		} else {
			c.SetReadDeadline(time.Now()) // ends a wait for the client; minting and dialing end with s.ctx
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeGrace):
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
	}
	s.warm.wait()
	return nil
}

// lifeState returns the server's state.
func (s *Server) lifeState() state {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// stopListening moves the server to draining, at least.
func (s *Server) stopListening() { s.enter(draining) }

// enter moves the server forward to state st: from draining on its listeners are closed, and
// at closed s.ctx is canceled, which ends every wait, mint and dial.
func (s *Server) enter(st state) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = max(s.state, st)
	for ln := range s.listeners {
		ln.Close()
	}
	if s.state == closed {
		s.cancel()
	}
}
