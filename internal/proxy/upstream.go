package proxy

import (
	"context"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// The upstream side speaks the protocol with pgproto3's Frontend, not pgconn: pgconn links
// pgpassfile and pgservicefile, whose regular expressions are compiled when any program that
// links them starts (2.7 million instructions, half again what a dsqlenv command costs), and
// the proxy needs none of pgconn's configuration: one address, TLS as the profile says, the
// token as the password.

// upstreamConn is an authenticated upstream session, taken over before its first query.
type upstreamConn struct {
	conn     net.Conn // TLS over raw
	raw      net.Conn // the TCP connection, tracked for Close
	hasKey   bool     // the server sent a BackendKeyData: pid and secret cancel its queries
	pid      uint32
	secret   []byte
	params   map[string]string          // ParameterStatus
	notices  []*pgproto3.NoticeResponse // sent during the startup, passed on at the hand-over
	txStatus byte
}

// connect opens an authenticated upstream session as user on database with the client's
// run-time parameters: TLS verified against the profile's roots with the endpoint as server
// name, started directly with ALPN postgresql or after an SSLRequest, then the startup and
// the password exchange the server asks for (cleartext, as DSQL does; SCRAM-SHA-256 or MD5,
// as PostgreSQL may), as long as ctx lasts. Its error is a *pgError: what the client is told.
func (s *Server) connect(ctx context.Context, user, database string, params map[string]string, token string) (*upstreamConn, error) {
	dctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	defer cancel()
	began := time.Now()
	raw, err := (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext(dctx, "tcp", s.cfg.Upstream.Addr)
	if err != nil {
		return nil, s.upstreamError(ctx, err)
	}
	if !s.track(raw, false) {
		raw.Close()
		return nil, shuttingDown()
	}
	up, err := s.start(dctx, raw, user, database, params, token)
	if err != nil {
		raw.Close()
		s.untrack(raw)
		return nil, s.upstreamError(ctx, err)
	}
	s.counters.connect.observe(time.Since(began))
	return up, nil
}

func (s *Server) start(ctx context.Context, raw net.Conn, user, database string, params map[string]string, token string) (*upstreamConn, error) {
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) }) // Close or Shutdown
	defer stop()
	if !s.cfg.Upstream.Direct {
		if err := requestTLS(raw); err != nil {
			return nil, err
		}
	}
	tc := tls.Client(raw, s.tls.Clone())
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	if s.cfg.Upstream.Direct && tc.ConnectionState().NegotiatedProtocol != "postgresql" {
		return nil, errors.New(`the server did not select ALPN protocol "postgresql" for direct TLS (set sslnegotiation: postgres in the profile for a server that needs an SSLRequest first)`)
	}
	fe := pgproto3.NewFrontend(&messageReader{r: tc}, tc)
	startup := map[string]string{}
	for k, v := range params {
		startup[k] = v
	}
	startup["user"], startup["database"] = user, database
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: startup})
	if err := fe.Flush(); err != nil {
		return nil, err
	}
	up := &upstreamConn{conn: tc, raw: raw, params: map[string]string{}}
	for {
		msg, err := fe.Receive()
		if err != nil {
			return nil, err
		}
		switch m := msg.(type) {
		case *pgproto3.AuthenticationOk, *pgproto3.NegotiateProtocolVersion:
		case *pgproto3.NoticeResponse:
			n := *m // Receive reuses its messages
			up.notices = append(up.notices, &n)
		case *pgproto3.AuthenticationCleartextPassword:
			err = sendPassword(fe, token)
		case *pgproto3.AuthenticationMD5Password:
			inner := md5.Sum([]byte(token + user))
			outer := md5.Sum(append([]byte(hex.EncodeToString(inner[:])), m.Salt[:]...))
			err = sendPassword(fe, "md5"+hex.EncodeToString(outer[:]))
		case *pgproto3.AuthenticationSASL:
			err = scramClient(fe, m.AuthMechanisms, token)
		case *pgproto3.ParameterStatus:
			up.params[m.Name] = m.Value
		case *pgproto3.BackendKeyData:
			up.hasKey, up.pid, up.secret = true, m.ProcessID, append([]byte(nil), m.SecretKey...)
		case *pgproto3.ErrorResponse:
			return nil, fromServer(m)
		case *pgproto3.ReadyForQuery:
			up.txStatus = m.TxStatus
			raw.SetDeadline(time.Time{})
			return up, nil
		default:
			return nil, fmt.Errorf("the server sent %T before the session was ready", msg)
		}
		if err != nil {
			return nil, err
		}
	}
}

func sendPassword(fe *pgproto3.Frontend, password string) error {
	fe.Send(&pgproto3.PasswordMessage{Password: password})
	return fe.Flush()
}

// scramClient is the client side of SCRAM-SHA-256 without channel binding (RFC 5802, RFC
// 7677), as libpq does it when the server offers it; the server's signature is checked.
func scramClient(fe *pgproto3.Frontend, mechanisms []string, password string) error {
	offered := false
	for _, m := range mechanisms {
		offered = offered || m == scramMechanism
	}
	if !offered {
		return fmt.Errorf("the server asks for SASL with %s, not %s", strings.Join(mechanisms, ", "), scramMechanism)
	}
	var nb [18]byte
	rand.Read(nb[:])
	clientFirstBare := "n=,r=" + base64.StdEncoding.EncodeToString(nb[:])
	fe.Send(&pgproto3.SASLInitialResponse{AuthMechanism: scramMechanism, Data: []byte("n,," + clientFirstBare)})
	if err := fe.Flush(); err != nil {
		return err
	}
	msg, err := fe.Receive()
	if err != nil {
		return err
	}
	cont, ok := msg.(*pgproto3.AuthenticationSASLContinue)
	if !ok {
		return unexpected(msg)
	}
	serverFirst := string(cont.Data)
	attrs := map[string]string{}
	for _, kv := range strings.Split(serverFirst, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			attrs[k] = v
		}
	}
	salt, err := base64.StdEncoding.DecodeString(attrs["s"])
	iter, ierr := strconv.Atoi(attrs["i"])
	if err != nil || ierr != nil || iter < 1 || !strings.HasPrefix(attrs["r"], clientFirstBare[len("n=,r="):]) {
		return errors.New("the server's SCRAM message is malformed")
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size)
	if err != nil {
		return err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	withoutProof := "c=biws,r=" + attrs["r"]
	authMessage := clientFirstBare + "," + serverFirst + "," + withoutProof
	proof := hmacSHA256(storedKey[:], authMessage)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	fe.Send(&pgproto3.SASLResponse{Data: []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof))})
	if err := fe.Flush(); err != nil {
		return err
	}
	if msg, err = fe.Receive(); err != nil {
		return err
	}
	final, ok := msg.(*pgproto3.AuthenticationSASLFinal)
	if !ok {
		return unexpected(msg)
	}
	want := "v=" + base64.StdEncoding.EncodeToString(hmacSHA256(hmacSHA256(salted, "Server Key"), authMessage))
	if string(final.Data) != want {
		return errors.New("the server's SCRAM signature does not verify: it does not know the password")
	}
	return nil
}

// unexpected is the error for a message out of turn; the server's own error passes whole.
func unexpected(msg pgproto3.BackendMessage) error {
	if e, ok := msg.(*pgproto3.ErrorResponse); ok {
		return fromServer(e)
	}
	return fmt.Errorf("the server sent %T out of turn", msg)
}

// fromServer is the server's own error during the connection's start, passed on whole.
func fromServer(m *pgproto3.ErrorResponse) *pgError {
	resp := *m
	return &pgError{Severity: resp.Severity, Code: resp.Code, Message: resp.Message, Detail: resp.Detail, Hint: resp.Hint, upstream: &resp}
}

// upstreamError turns a failed upstream connection into what the client is told: the
// server's own error unchanged, what ctx's end made of it, or what failed, where, and the fix.
func (s *Server) upstreamError(ctx context.Context, err error) *pgError {
	var pe *pgError
	if errors.As(err, &pe) {
		return pe
	}
	up := s.cfg.Upstream
	var (
		unknownCA *x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
	)
	var cause error
	switch {
	case errors.As(err, &verify):
		cause = verify
	case errors.As(err, &unknownCA):
		cause = unknownCA
	case errors.As(err, &hostname):
		cause = hostname
	case errors.As(err, &invalid):
		cause = invalid
	}
	if cause != nil {
		roots := up.RootsFile
		if roots == "" {
			roots = "the system's root certificates"
		}
		return &pgError{Code: "08006",
			Message: fmt.Sprintf("dsqlenv proxy: the TLS certificate of %s (server name %s) does not verify against %s: %v", up.Addr, up.ServerName, roots, cause),
			Hint:    "Check the profile's host and root certificates (sslrootcert)."}
	}
	// A client that left, or the proxy closing; a deadline (--check's --timeout) is a
	// connection that did not come in time.
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return cutShort(ctx)
	}
	return &pgError{Code: "08006",
		Message: fmt.Sprintf("dsqlenv proxy: cannot connect to %s for profile %s: %v", up.Addr, s.cfg.Profile, err),
		Hint:    "Check that the cluster endpoint is right and reachable."}
}
