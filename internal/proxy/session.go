package proxy

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// session is what one client connection logs when it ends.
type session struct {
	client   string
	user     string
	database string
	app      string // application_name
	watch    *txWatch
	start    time.Time
	in, out  int64 // bytes client→server, server→client after the hand-over
	end      string
	began    bool // a StartupMessage was read
	loggedIn bool // past the local login: s.pending no longer counts it
}

// handle serves one client connection; the caller closes c.
func (s *Server) handle(c net.Conn, unix bool) {
	sess := &session{client: clientName(c, unix), start: time.Now(), watch: &txWatch{}}
	s.serve(c, unix, sess)
	if !sess.loggedIn {
		s.pending.Add(-1)
	}
	if !sess.began {
		if sess.end != "" { // a cancel request, or a startup packet refused
			s.logPreLogin(fmt.Sprintf("dsqlenv proxy: profile=%s client=%s end=%s", s.cfg.Profile, sess.client, logField(sess.end, maxLogEnd)))
		}
		return
	}
	line := fmt.Sprintf("dsqlenv proxy: profile=%s user=%s database=%s client=%s duration=%s bytes_in=%d bytes_out=%d end=",
		s.cfg.Profile, logField(sess.user, maxLogName), logField(sess.database, maxLogName), sess.client, time.Since(sess.start).Round(time.Millisecond), sess.in, sess.out)
	if !sess.loggedIn {
		// Refused or abandoned before the login: whoever can connect chose these words.
		s.logPreLogin(line + logField(sess.end, maxLogEnd))
		return
	}
	s.log(line + strconv.Quote(sess.end))
}

// maxLogName and maxLogEnd bound, in a log line, the names a client sent (PostgreSQL's are
// at most 63 bytes) and the reason a connection that never logged in ended.
const (
	maxLogName = 64
	maxLogEnd  = 256
)

func (s *Server) log(line string) {
	if s.cfg.Log != nil {
		s.cfg.Log(line)
	}
}

// logPreLogin logs a line about a connection that never logged in, within the rate limit.
func (s *Server) logPreLogin(line string) {
	if s.cfg.Log == nil {
		return
	}
	if line = s.preLogin.pass(line); line != "" {
		s.cfg.Log(line)
	}
}

func clientName(c net.Conn, unix bool) string {
	if unix {
		return "unix"
	}
	if a := c.RemoteAddr(); a != nil {
		return a.String()
	}
	return "?"
}

// serve takes a client connection through its four steps, each its own function: the
// startup packet, the local login, the upstream session, and the hand-over. A step that
// fails either refuses the client (a *pgError, which the client is told) or finds it gone;
// sess.end says which.
func (s *Server) serve(raw net.Conn, unix bool, sess *session) {
	raw.SetDeadline(time.Now().Add(s.startupTimeout))
	// The peer's UID is checked at once, and a refusal sent after the startup packet, where a
	// client expects an answer.
	peerErr := s.checkPeer(raw, unix)
	c, st, err := s.startup(raw, unix, peerErr, sess)
	if st == nil {
		var pe *pgError
		if errors.As(err, &pe) {
			sess.end = "refused: " + pe.Message
			send(c, pe.response())
			drain(c, min(time.Second, s.startupTimeout))
		}
		return
	}
	sess.began = true
	sess.user, sess.database, sess.app = st.user, st.database, st.app
	defer s.opened(sess)()
	if err := s.login(c, unix, peerErr, st); err != nil {
		s.fail(c, sess, err)
		return
	}
	c.SetDeadline(time.Time{})
	sess.loggedIn = true
	s.pending.Add(-1)

	ctx, stopWatch := s.watchClient(c)
	up, err := s.upstream(ctx, st)
	early := stopWatch()
	if err != nil {
		s.fail(c, sess, err)
		return
	}
	defer s.sessions.Add(-1)
	defer s.untrack(up.raw)
	defer up.conn.Close()
	if !s.setUp(raw) {
		s.fail(c, sess, shuttingDown())
		return
	}
	if err := s.handOver(c, up, early, sess); err != nil {
		s.fail(c, sess, err)
	}
}

// fail ends a session before its hand-over: a refusal (*pgError) is counted and told to the
// client; any other error says how the client went.
func (s *Server) fail(c net.Conn, sess *session, err error) {
	var pe *pgError
	if !errors.As(err, &pe) {
		sess.end = err.Error()
		return
	}
	s.refused(pe)
	send(c, pe.response())
	sess.end = pe.Message
}

// checkPeer returns the refusal of a Unix socket client whose peer UID is not the one allowed.
func (s *Server) checkPeer(c net.Conn, unix bool) *pgError {
	if !unix || s.cfg.PeerUID < 0 {
		return nil
	}
	uid, err := peerUID(c)
	switch {
	case err != nil:
		return &pgError{Code: "28000", Message: fmt.Sprintf("dsqlenv proxy: cannot check the peer of the socket: %v", err)}
	case uid != s.cfg.PeerUID:
		return &pgError{Code: "28000", Message: fmt.Sprintf("dsqlenv proxy: peer UID %d may not use this socket (only UID %d, the proxy's owner, may)", uid, s.cfg.PeerUID)}
	}
	return nil
}

// clientStartup is what a client's StartupMessage asks for, with the profile's defaults.
type clientStartup struct {
	user, database string
	app            string            // the application_name the client sent
	params         map[string]string // the other run-time parameters, with the profile's defaults
	minor          uint16            // the minor protocol version asked for
	unknown        []string          // protocol options (_pq_.*) the proxy does not know, sorted
}

// startup reads the client's startup packets up to its StartupMessage, answering
// encryption requests and forwarding a cancel request. It returns the connection to go on
// with (TLS over c when the client asked for it and Config.TLS is set), or a nil startup when
// the connection ends there: err is then a *pgError for a packet refused, or nil with
// sess.end set.
func (s *Server) startup(c net.Conn, unix bool, peerErr *pgError, sess *session) (net.Conn, *clientStartup, error) {
	for i := 0; ; i++ {
		st, err := readStartup(c)
		if err != nil {
			return c, nil, err
		}
		switch m := st.msg.(type) {
		case *pgproto3.SSLRequest, *pgproto3.GSSEncRequest:
			if i >= 2 {
				return c, nil, protocolViolation("too many encryption requests")
			}
			_, ssl := m.(*pgproto3.SSLRequest)
			if _, done := c.(*tls.Conn); ssl && !done && !unix && s.cfg.TLS != nil {
				if c, err = s.serverTLS(c); err != nil {
					sess.end = err.Error()
					return c, nil, nil
				}
				continue
			}
			// A socket, or TLS not set up: the client goes on in plain text
			// (sslmode=prefer) or gives up (require).
			if _, err := c.Write([]byte{'N'}); err != nil {
				return c, nil, nil
			}
		case *pgproto3.CancelRequest:
			if peerErr != nil {
				sess.end = "cancel request refused: " + peerErr.Message
			} else {
				sess.end = "cancel request " + s.forwardCancel(m)
			}
			return c, nil, nil
		case *pgproto3.StartupMessage:
			return c, s.clientStartup(m, st.minor), nil
		}
	}
}

// serverTLS answers an SSLRequest with 'S' and runs the TLS handshake; its error says what a
// client that could not verify the certificate should set.
func (s *Server) serverTLS(c net.Conn) (net.Conn, error) {
	if _, err := c.Write([]byte{'S'}); err != nil {
		return c, errors.New("client gone")
	}
	tc := tls.Server(c, s.cfg.TLS)
	if err := tc.Handshake(); err != nil {
		root := cmp.Or(s.cfg.TLSCertFile, "the proxy's certificate")
		// First, before the log line's cut: the handshake's error can be long.
		return c, fmt.Errorf("TLS handshake failed: a client that verifies the server needs sslrootcert=%s (or sslmode=require, which does not verify): %v", root, err)
	}
	return tc, nil
}

// clientStartup splits a StartupMessage's parameters and fills in the profile's defaults.
func (s *Server) clientStartup(m *pgproto3.StartupMessage, minor uint16) *clientStartup {
	params := maps.Clone(m.Parameters)
	st := &clientStartup{user: params["user"], database: params["database"], app: params["application_name"], params: params, minor: minor}
	delete(params, "user")
	delete(params, "database")
	for k := range params {
		if strings.HasPrefix(k, "_pq_.") {
			st.unknown = append(st.unknown, k)
			delete(params, k)
		}
	}
	slices.Sort(st.unknown)
	if st.database == "" {
		st.database = s.cfg.Upstream.Database
	}
	if params["options"] == "" && s.cfg.Upstream.Options != "" {
		params["options"] = s.cfg.Upstream.Options
	}
	if params["application_name"] == "" && s.cfg.Upstream.ApplicationName != "" {
		params["application_name"] = s.cfg.Upstream.ApplicationName
	}
	return st
}

// login runs the local login: the peer check's verdict on a socket, the protocol version,
// and the local password over TCP.
func (s *Server) login(c net.Conn, unix bool, peerErr *pgError, st *clientStartup) error {
	if peerErr != nil {
		return peerErr
	}
	if st.user == "" {
		return &pgError{Code: "28000", Message: "no PostgreSQL user name specified in startup packet"}
	}
	if st.minor != 0 || len(st.unknown) > 0 {
		// The field holds the whole version, 3.0, as PostgreSQL sends it and libpq reads it
		// (pgconn takes its low 16 bits).
		if err := send(c, &pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: pgproto3.ProtocolVersion30, UnrecognizedOptions: st.unknown}); err != nil {
			return errors.New("client gone")
		}
	}
	if !unix && s.scram != nil {
		if err := s.scram.authenticate(c, st.user); err != nil {
			var pe *pgError
			if errors.As(err, &pe) {
				return pe
			}
			return errors.New("client gone during authentication")
		}
	}
	return nil
}

// errClientLeft is the cause of the end of a session's opening whose client hung up.
var errClientLeft = errors.New("the client left while its session was being opened")

// watchClient returns the context in which a logged-in client's upstream session is opened:
// it ends when the client hangs up (or the server closes), so that a client that leaves
// while it waits for the pacing, its token or its connection takes them along. stop ends
// the watch and returns the byte the client sent meanwhile, if any: a client may send its
// first query before it has heard AuthenticationOk, and that byte goes upstream first.
func (s *Server) watchClient(c net.Conn) (ctx context.Context, stop func() []byte) {
	ctx, cancel := context.WithCancelCause(s.ctx)
	var early []byte
	done := make(chan struct{})
	go func() {
		defer close(done)
		var b [1]byte
		n, err := c.Read(b[:])
		switch {
		case n > 0:
			early = b[:n]
		case !errors.Is(err, os.ErrDeadlineExceeded): // not stop's, or Close's
			cancel(errClientLeft)
		}
	}()
	return ctx, func() []byte {
		c.SetReadDeadline(time.Unix(1, 0))
		<-done
		c.SetReadDeadline(time.Time{})
		cancel(nil)
		return early
	}
}

// cutShort is what a session is told when ctx ended its opening: its client left, or the
// proxy is closing.
func cutShort(ctx context.Context) *pgError {
	if errors.Is(context.Cause(ctx), errClientLeft) {
		return &pgError{Code: "08006", Message: "dsqlenv proxy: " + errClientLeft.Error()}
	}
	return shuttingDown()
}

// upstream returns an upstream session for a logged-in client, holding one slot of
// Config.MaxSessions that the caller gives back when the session ends: a warm one, or one
// opened now while the client waits for AuthenticationOk.
func (s *Server) upstream(ctx context.Context, st *clientStartup) (*upstreamConn, error) {
	// A warm session of this startup is handed over with its slot of the limit, which it
	// already holds; the client's arrival opens the next one.
	s.warm.fill(st.user, st.database, st.params)
	up := s.warm.take(ctx, st.user, st.database, st.params)
	if up == nil && ctx.Err() != nil {
		return nil, cutShort(ctx)
	}
	if up == nil {
		// Only clients that passed the local check count against the limit, so that clients
		// that never finish authenticating cannot lock the owner out. Warm sessions count
		// too, but give their slot to a client that needs it.
		n := s.sessions.Add(1)
		if s.cfg.MaxSessions > 0 && n > int64(s.cfg.MaxSessions) && !s.warm.evict() {
			// Given back before the client reads the refusal: Sessions() is right by then.
			s.sessions.Add(-1)
			return nil, &pgError{Code: "53300", Message: fmt.Sprintf("dsqlenv proxy: too many sessions for profile %s (max %d)", s.cfg.Profile, s.cfg.MaxSessions),
				Hint: "Close idle sessions, or start the proxy with a higher session limit."}
		}
	}
	s.counters.total.Add(1)
	if up != nil {
		return up, nil
	}
	up, pe := s.open(ctx, st.user, st.database, st.params)
	if pe != nil {
		s.sessions.Add(-1)
		return nil, pe
	}
	return up, nil
}

// handOver tells the client its login is done, in the upstream session's words (its
// ParameterStatus messages, a BackendKeyData of the proxy's own, ReadyForQuery), then copies
// bytes both ways until one side ends, the client's early bytes first.
func (s *Server) handOver(c net.Conn, up *upstreamConn, early []byte, sess *session) error {
	msgs := []pgproto3.BackendMessage{&pgproto3.AuthenticationOk{}}
	for _, n := range up.notices {
		msgs = append(msgs, n)
	}
	for _, k := range slices.Sorted(maps.Keys(up.params)) {
		msgs = append(msgs, &pgproto3.ParameterStatus{Name: k, Value: up.params[k]})
	}
	// A key of the proxy's own, only for a session the upstream gave one: a client without
	// one knows it cannot cancel, rather than sending cancels that go nowhere.
	if up.hasKey {
		pid, secret := s.keys.add(upstreamKey{addr: up.raw.RemoteAddr().String(), pid: up.pid, secret: up.secret})
		defer s.keys.remove(pid)
		msgs = append(msgs, &pgproto3.BackendKeyData{ProcessID: pid, SecretKey: secret[:]})
	}
	msgs = append(msgs, &pgproto3.ReadyForQuery{TxStatus: up.txStatus})
	if err := send(c, msgs...); err != nil {
		return errors.New("client gone before the hand-over")
	}
	sess.watch.start(c, up.txStatus)
	if len(early) > 0 {
		if _, err := up.conn.Write(early); err != nil {
			sess.end = "server: " + err.Error()
			return nil
		}
	}
	sess.in, sess.out, sess.end = s.splice(sess.watch.fromClient(c), up.conn, sess.watch)
	sess.in += int64(len(early))
	return nil
}

// open paces, mints and opens an upstream session for user on database with params, as
// long as ctx lasts; its error is what the client is told, with the token scrubbed from
// anything the server said.
func (s *Server) open(ctx context.Context, user, db string, params map[string]string) (*upstreamConn, *pgError) {
	if err := s.limiter.wait(ctx); err != nil {
		return nil, cutShort(ctx)
	}
	mctx, cancel := context.WithTimeout(ctx, s.cfg.MintTimeout)
	token, err := s.cfg.Mint(mctx, user)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, cutShort(ctx)
		}
		s.counters.mintFailures.Add(1)
		code := "08001" // a network, a credential_process or a service that may do better on a retry
		if errors.As(err, new(userError)) {
			code = "28000"
		}
		return nil, &pgError{Code: code, Message: err.Error()}
	}
	if token == "" {
		return nil, &pgError{Code: "28000", Message: fmt.Sprintf("dsqlenv: the token minted for profile %s is empty", s.cfg.Profile)}
	}
	up, err := s.connect(ctx, user, db, params, token)
	var pe *pgError
	if errors.As(err, &pe) && pe.Code == "53400" {
		// DSQL refused for its rate of new connections. The client has heard nothing yet, so
		// the proxy tries once more, after the pacing's wait. (Refusals count sessions
		// refused, so this one does not count.)
		if err := s.limiter.wait(ctx); err != nil {
			return nil, cutShort(ctx)
		}
		up, err = s.connect(ctx, user, db, params, token)
	}
	if err != nil {
		errors.As(err, &pe)
		if pe.upstream != nil && pe.Code == "28000" && pe.Hint == "" && s.cfg.Upstream.Region != "" {
			pe.setHint(s.accessHint(user))
		}
		scrub := func(s *string) { *s = strings.ReplaceAll(*s, token, "[token]") }
		scrub(&pe.Message)
		scrub(&pe.Detail)
		scrub(&pe.Hint)
		if u := pe.upstream; u != nil {
			for _, f := range []*string{&u.Message, &u.Detail, &u.Hint, &u.Where, &u.InternalQuery} {
				scrub(f)
			}
		}
		return nil, pe
	}
	return up, nil
}

// accessHint is the hint to DSQL's access-denied error, which comes without one when the
// token's identity may not connect: the IAM action user needs, where.
func (s *Server) accessHint(user string) string {
	action, as := "dsql:DbConnect", "role "+user+" (mapped to that identity with AWS IAM GRANT)"
	if user == "admin" {
		action, as = "dsql:DbConnectAdmin", "admin"
	}
	return fmt.Sprintf("The AWS identity of profile %s needs the IAM action %s on this cluster, in region %s, to connect as %s.", s.cfg.Profile, action, s.cfg.Upstream.Region, as)
}

// drain reads briefly what a client sent beyond a packet the proxy refused, so that closing
// the socket does not reset the connection before the client has read the error.
func drain(c net.Conn, d time.Duration) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(d))
	io.CopyN(io.Discard, c, 1<<16)
}

func shuttingDown() *pgError {
	return &pgError{Code: "57P01", Message: "dsqlenv proxy: shutting down"}
}

// splice copies bytes both ways until one side ends, then closes both.
// toClient carries the server's bytes to client.
func (s *Server) splice(client, server net.Conn, toClient io.Writer) (in, out int64, why string) {
	type result struct {
		toServer bool
		n        int64
		err      error
	}
	done := make(chan result, 2)
	go func() { n, err := io.Copy(server, client); done <- result{true, n, err} }()
	go func() { n, err := io.Copy(toClient, server); done <- result{false, n, err} }()
	first := <-done
	client.Close()
	server.Close()
	second := <-done
	for _, r := range []result{first, second} {
		if r.toServer {
			in = r.n
		} else {
			out = r.n
		}
	}
	switch {
	case s.lifeState() == closed:
		why = "proxy closed"
	case first.toServer && first.err == nil:
		why = "client closed"
	case first.toServer:
		why = "client: " + first.err.Error()
	case first.err == nil:
		why = "server closed"
	default:
		why = "server: " + first.err.Error()
	}
	return in, out, why
}

// forwardCancel sends a client's cancel request, when its key is one the proxy gave out, to
// the upstream session it maps to, over a new TLS connection.
// It says what became of the request, for the log.
func (s *Server) forwardCancel(m *pgproto3.CancelRequest) string {
	key, ok := s.keys.lookup(m.ProcessID, m.SecretKey)
	if !ok {
		return "ignored: no session has that key" // as PostgreSQL does
	}
	ctx, cancel := context.WithTimeout(s.ctx, cancelTimeout)
	defer cancel()
	// A cancel opens an upstream connection too, which DSQL counts against its rate.
	if err := s.limiter.wait(ctx); err != nil {
		return "dropped: " + err.Error()
	}
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", key.addr)
	if err != nil {
		return "not forwarded: " + err.Error()
	}
	if !s.track(c, false) {
		c.Close()
		return "dropped: shutting down"
	}
	defer s.untrack(c)
	defer c.Close()
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	if !s.cfg.Upstream.Direct {
		if err := requestTLS(c); err != nil {
			return "not forwarded: " + err.Error()
		}
	}
	tc := tls.Client(c, s.tls.Clone())
	buf, _ := (&pgproto3.CancelRequest{ProcessID: key.pid, SecretKey: key.secret}).Encode(nil)
	if _, err := tc.Write(buf); err != nil {
		return "not forwarded: " + err.Error()
	}
	io.Copy(io.Discard, tc) // the server closes the connection when done
	return "forwarded"
}
