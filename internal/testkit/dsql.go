package testkit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dsql/auth"
	"github.com/jackc/pgx/v5/pgproto3"
)

// DSQL is a stand-in for an Aurora DSQL cluster endpoint, on 127.0.0.1, in front of a real
// PostgreSQL started by the test. It speaks TLS only (after an SSLRequest, or directly with
// ALPN "postgresql"), asks for the password in clear, and checks that password as DSQL checks
// its IAM auth tokens: a SigV4 presigned URL signed with the example keys for service dsql,
// the cluster's region and the endpoint the client reached (the TLS SNI name), with the action
// the role needs, not expired on the double's own clock (which the test moves). A good token
// opens a session on the real server as the requested role and database, and the double then
// relays the session until it ends or reaches the session cap. Refusals carry DSQL's own
// SQLSTATEs and messages, so code under test meets what it would meet in AWS.
//
// Clients reach it with host=Host (for SNI and verify-full against CAFile) and
// hostaddr=127.0.0.1 port=Port (libpq), or a pgconn LookupFunc that answers 127.0.0.1.
type DSQL struct {
	Addr   string // 127.0.0.1:Port, where it listens
	Port   int
	Host   string // the cluster endpoint it stands for, ID.dsql.REGION.on.aws: sign tokens for this host, and send it as SNI
	Region string // the cluster's region: sign tokens for this region
	CAFile string // PEM of the test CA that issued its certificate (for Host and 127.0.0.1): pass as sslrootcert
	CA     *CA    // that CA, to issue other certificates a test may need

	opts    DSQLOptions
	backend string // the real server's Unix socket
	ln      net.Listener
	tlsConf *tls.Config
	wg      sync.WaitGroup

	mu       sync.Mutex
	offset   time.Duration // the double's clock: real time plus offset
	ticked   chan struct{} // closed and replaced whenever the clock is moved
	closed   bool
	conns    map[net.Conn]bool
	open     int     // connections holding a slot of MaxConnections
	bucket   float64 // connection-rate tokens left
	refilled time.Time
	sessions map[uint32][]byte // backend pid → secret key of each relayed session, for cancel requests
	stats    DSQLStats
	// readySent, when set (by the package's tests), runs in a session's goroutine once the
	// client can have read ReadyForQuery, before the relay starts: a test holds the double
	// there to check that nothing after that point still reads the clock.
	readySent func()
}

// DSQLOptions change the double. The zero value is DSQL's own quotas and limits.
type DSQLOptions struct {
	// ClusterID is the 26-character cluster identifier in the endpoint name; a fixed fake one
	// when empty. Two doubles with different IDs stand for two clusters.
	ClusterID string
	// Region of the cluster and of the endpoint name; us-east-1 when empty.
	Region string
	// Host replaces the endpoint name (ClusterID.dsql.Region.on.aws) when set, such as a
	// PrivateLink name (ClusterID.dsql-<svc>.Region.on.aws), which no resolver here knows:
	// clients reach it through hostaddr alone. "localhost"
	// lets clients that resolve the name themselves (drivers, which take no hostaddr) reach
	// the double with SNI and verify-full intact; tokens are then signed for localhost.
	Host string
	// VPCEndpoint is a VPC endpoint's name the double also answers as, for AWS's unverified
	// PrivateLink route: a client that sends it as SNI names the cluster with
	// -c amzn-cluster-id=<cluster id> in its startup options (which the double takes out
	// before the real server sees them) and signs its token for Host, the public name. The
	// certificate does not hold this name: only a client that skips the name check gets in.
	VPCEndpoint string
	// SessionCap is how long a session may last before the double ends it, measured on the
	// double's clock (so Advance ends sessions too). DSQL's 60 minutes when 0.
	SessionCap time.Duration
	// RatePerSecond and Burst make the token bucket of new connections: beyond it a connection
	// is refused with 53400. DSQL's 100 a second with a burst of 1,000 when 0. The bucket
	// refills on the double's clock.
	RatePerSecond float64
	Burst         int
	// MaxConnections caps the connections open at once (53300 beyond); DSQL's 10,000 when 0.
	MaxConnections int
}

// DSQLStats is what the double saw, for tests to assert on. Tokens are kept but never logged.
type DSQLStats struct {
	Accepted    int      // sessions opened on the real server
	Refused     int      // connections refused (by the double, or by the real server at startup)
	LastRefusal string   // why the last one was refused, in the double's words (never the token)
	Capped      int      // sessions ended by the session cap
	Cancels     int      // cancel requests forwarded to the real server
	Open        int      // connections holding a MaxConnections slot now
	FirstBytes  [][]byte // the first bytes each client sent, in order (at most 64 each): 00 00 00 08 04 d2 16 2f is an SSLRequest, 16 03 a TLS ClientHello
	Tokens      []string // every password received, in order
	Endpoints   []string // the SNI name of each TLS connection, in order ("" without SNI)
	Resumed     int      // TLS connections that resumed an earlier session (a session ticket)
}

// DSQL's answers, as the service words them (see the DSQL user guide's troubleshooting and
// quota pages). The double's own texts (no TLS, session cap) are marked as such.
const (
	dsqlAccessDenied  = "unable to accept connection, access denied"
	dsqlRateExceeded  = "Unable to accept connection, rate exceeded."
	dsqlTooManyConns  = "Unable to accept connection, too many open connections."
	dsqlTLSRequired   = "unable to accept connection, TLS required"                // the double's wording
	dsqlSessionCapMsg = "terminating connection: maximum session duration reached" // the double's wording
	// dsqlMaxExpires is the longest X-Amz-Expires SigV4 presigning allows: one week.
	dsqlMaxExpires = 604800
	// dsqlStartupTimeout bounds how long a client may take from connecting to its first query.
	dsqlStartupTimeout = 60 * time.Second
)

const (
	// DSQLFutureSkew is how far ahead of the double's clock a token's X-Amz-Date may be: a
	// token from a client whose clock runs further ahead is refused. The double's choice;
	// AWS does not publish DSQL's.
	DSQLFutureSkew = 5 * time.Minute
	// DSQLClusterID is the fake cluster identifier (26 characters, as DSQL's) of a double
	// started without a ClusterID.
	DSQLClusterID = "abcdefghijklmnopqrstuvwx12"
)

// StartDSQL starts a DSQL double in front of pg, which must have been started by the same
// test (the double opens sessions through its trusted Unix socket, so the roles only need to
// exist there). It stops at the end of the test, closing every connection, before pg stops.
func StartDSQL(t testing.TB, pg *Postgres, opts DSQLOptions) *DSQL {
	t.Helper()
	if opts.ClusterID == "" {
		opts.ClusterID = DSQLClusterID
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.SessionCap == 0 {
		opts.SessionCap = time.Hour
	}
	if opts.RatePerSecond == 0 {
		opts.RatePerSecond = 100
	}
	if opts.Burst == 0 {
		opts.Burst = 1000
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = 10000
	}
	d := &DSQL{
		Host:     opts.ClusterID + ".dsql." + opts.Region + ".on.aws",
		Region:   opts.Region,
		opts:     opts,
		backend:  filepath.Join(pg.Socket, ".s.PGSQL."+strconv.Itoa(pg.Port)),
		ticked:   make(chan struct{}),
		conns:    map[net.Conn]bool{},
		bucket:   float64(opts.Burst),
		refilled: time.Now(),
		sessions: map[uint32][]byte{},
	}
	if opts.Host != "" {
		d.Host = opts.Host
	}
	d.CA = NewCA(t, "dsqlenv DSQL double CA")
	d.CAFile = filepath.Join(t.TempDir(), "dsql-ca.pem")
	if err := os.WriteFile(d.CAFile, d.CA.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	crt, key := d.CA.Issue(t, []string{d.Host}, []net.IP{net.ParseIP("127.0.0.1")}, time.Now().Add(24*time.Hour))
	pair, err := tls.X509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	// ALPN "postgresql" is what PostgreSQL 17+ offers and demands for direct negotiation; a
	// client that offers other protocols only fails the handshake, as with PostgreSQL.
	d.tlsConf = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12, NextProtos: []string{"postgresql"}}

	d.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.Addr = d.ln.Addr().String()
	d.Port = d.ln.Addr().(*net.TCPAddr).Port
	d.wg.Add(1)
	go d.accept()
	t.Cleanup(d.close)
	return d
}

// JavaHostsOption writes a hosts file that maps Host to 127.0.0.1 and returns the JVM option
// that makes Java resolve names from it alone: -Djdk.net.hosts.file=FILE (JDK 9 and later,
// read once by java.net.InetAddress). A JDBC URL can then name the endpoint itself, and Java
// sends it as SNI, which JSSE leaves out for a name without a dot such as localhost; without
// SNI the double cannot tell which endpoint a token must be for, and refuses it.
func (d *DSQL) JavaHostsOption(t testing.TB) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "java-hosts")
	if err := os.WriteFile(file, []byte("127.0.0.1 "+d.Host+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return "-Djdk.net.hosts.file=" + file
}

// Token signs, with the SDK's signer and AWS's example keys, a token this double takes for
// user (DbConnectAdmin for admin, DbConnect otherwise), signed now on the real clock and
// living for life: a test's stand-in for a token an earlier dsqlenv run left behind.
func (d *DSQL) Token(t testing.TB, user string, life time.Duration) string {
	t.Helper()
	sign := auth.GenerateDbConnectAuthToken
	if user == "admin" {
		sign = auth.GenerateDBConnectAdminAuthToken
	}
	creds := credentials.NewStaticCredentialsProvider(ExampleKeyID, ExampleSecret, "")
	tok, err := sign(context.Background(), d.Host, d.Region, creds, func(o *auth.TokenOptions) { o.ExpiresIn = life })
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Now is the double's clock: real time, moved by Advance and SetNow. Tokens are judged by it.
func (d *DSQL) Now() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.nowLocked()
}

func (d *DSQL) nowLocked() time.Time { return time.Now().Add(d.offset) }

// Advance moves the double's clock by dur (back when negative): a test ages tokens and
// sessions this way instead of waiting.
func (d *DSQL) Advance(dur time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.offset += dur
	close(d.ticked)
	d.ticked = make(chan struct{})
}

// SetNow sets the double's clock to t; it then runs on from there with real time.
func (d *DSQL) SetNow(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.offset = time.Until(t)
	close(d.ticked)
	d.ticked = make(chan struct{})
}

// Stats returns a copy of what the double has seen so far.
func (d *DSQL) Stats() DSQLStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stats
	s.Open = d.open
	s.FirstBytes = append([][]byte(nil), s.FirstBytes...)
	s.Tokens = append([]string(nil), s.Tokens...)
	s.Endpoints = append([]string(nil), s.Endpoints...)
	return s
}

func (d *DSQL) accept() {
	defer d.wg.Done()
	for {
		c, err := d.ln.Accept()
		if err != nil {
			return // the listener was closed
		}
		if !d.track(c) {
			return
		}
		d.wg.Add(1)
		go d.serve(c)
	}
}

func (d *DSQL) track(c net.Conn) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		c.Close()
		return false
	}
	d.conns[c] = true
	return true
}

func (d *DSQL) untrack(c net.Conn) {
	c.Close()
	d.mu.Lock()
	delete(d.conns, c)
	d.mu.Unlock()
}

func (d *DSQL) close() {
	d.ln.Close()
	d.mu.Lock()
	d.closed = true
	for c := range d.conns {
		c.Close()
	}
	d.mu.Unlock()
	d.wg.Wait()
}

func (d *DSQL) refuse(reason string) {
	d.mu.Lock()
	d.stats.Refused++
	d.stats.LastRefusal = reason
	d.mu.Unlock()
}

// peekedConn reads through the buffered reader that peeked at the first bytes.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// serve takes one client from its first byte to the end of its session.
func (d *DSQL) serve(raw net.Conn) {
	defer d.wg.Done()
	defer d.untrack(raw)
	raw.SetDeadline(time.Now().Add(dsqlStartupTimeout))
	br := bufio.NewReader(raw)
	first, err := br.Peek(1)
	if err != nil {
		return
	}
	seen, _ := br.Peek(min(br.Buffered(), 64))
	d.mu.Lock()
	d.stats.FirstBytes = append(d.stats.FirstBytes, append([]byte(nil), seen...))
	d.mu.Unlock()
	conn := &peekedConn{raw, br}

	if first[0] == 0x16 { // a TLS handshake record: direct negotiation
		tc := tls.Server(conn, d.tlsConf)
		if err := tc.Handshake(); err != nil {
			d.refuse("direct TLS handshake failed: " + err.Error())
			return
		}
		// PostgreSQL 17+ ends a direct TLS connection without ALPN without an error message;
		// its client reads EOF (lib/pq's "EOF" in lib/pq#1331). The double ends the TLS
		// session too (close_notify, then the socket): closing the bare socket at once left
		// lib/pq reading "connection reset by peer" now and then.
		if tc.ConnectionState().NegotiatedProtocol != "postgresql" {
			d.refuse("direct TLS without ALPN postgresql")
			tc.Close()
			return
		}
		d.startup(raw, tc)
		return
	}

	b := pgproto3.NewBackend(conn, conn)
	for {
		msg, err := b.ReceiveStartupMessage()
		if err != nil {
			d.refuse("unreadable startup packet: " + err.Error())
			return
		}
		switch m := msg.(type) {
		case *pgproto3.GSSEncRequest:
			if _, err := conn.Write([]byte{'N'}); err != nil {
				return
			}
		case *pgproto3.SSLRequest:
			if _, err := conn.Write([]byte{'S'}); err != nil {
				return
			}
			tc := tls.Server(conn, d.tlsConf)
			if err := tc.Handshake(); err != nil {
				d.refuse("TLS handshake after SSLRequest failed: " + err.Error())
				return
			}
			d.startup(raw, tc)
			return
		case *pgproto3.CancelRequest:
			d.cancel(m)
			return
		case *pgproto3.StartupMessage:
			d.refuse("startup without TLS")
			sendFatal(b, "28000", dsqlTLSRequired, "")
			return
		default:
			d.refuse(fmt.Sprintf("unexpected startup message %T", msg))
			return
		}
	}
}

func sendFatal(b *pgproto3.Backend, code, msg, hint string) {
	b.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: msg, Hint: hint})
	b.Flush()
}

// startup runs the startup of a TLS connection: limits, token, then the real session.
func (d *DSQL) startup(raw net.Conn, tc *tls.Conn) {
	st := tc.ConnectionState()
	endpoint := st.ServerName
	d.mu.Lock()
	d.stats.Endpoints = append(d.stats.Endpoints, endpoint)
	if st.DidResume {
		d.stats.Resumed++
	}
	d.mu.Unlock()
	b := pgproto3.NewBackend(tc, tc)
	msg, err := b.ReceiveStartupMessage()
	if err != nil {
		d.refuse("unreadable startup packet: " + err.Error())
		return
	}
	var startup pgproto3.StartupMessage
	switch m := msg.(type) {
	case *pgproto3.CancelRequest: // libpq 17+ and pgx send cancels over TLS too
		d.cancel(m)
		return
	case *pgproto3.StartupMessage:
		startup.ProtocolVersion = m.ProtocolVersion
		startup.Parameters = map[string]string{}
		for k, v := range m.Parameters {
			startup.Parameters[k] = v
		}
	default:
		d.refuse(fmt.Sprintf("unexpected startup message %T inside TLS", msg))
		sendFatal(b, "08P01", fmt.Sprintf("unexpected startup message %T inside TLS", msg), "")
		return
	}
	user := startup.Parameters["user"]
	if d.opts.VPCEndpoint != "" && strings.EqualFold(endpoint, d.opts.VPCEndpoint) {
		// DSQL routes a connection to a VPC endpoint's own name by the cluster ID in its
		// options; the token must then be for the cluster's public name.
		id, rest := clusterIDOption(startup.Parameters["options"])
		if !strings.EqualFold(id, d.opts.ClusterID) {
			d.refuse(fmt.Sprintf("the client reached the VPC endpoint %q with amzn-cluster-id %q in its options, not this cluster's %q", endpoint, id, d.opts.ClusterID))
			sendFatal(b, "08004", "no amzn-cluster-id for this cluster in the startup options", "")
			return
		}
		startup.Parameters["options"] = rest
		if rest == "" {
			delete(startup.Parameters, "options")
		}
		endpoint = d.Host
	}

	// The limits apply to every new connection, before its token is looked at.
	if code, text := d.admit(); code != "" {
		d.refuse(text)
		sendFatal(b, code, text, "")
		return
	}
	defer d.release()

	b.Send(&pgproto3.AuthenticationCleartextPassword{})
	if err := b.Flush(); err != nil {
		return
	}
	if err := b.SetAuthType(pgproto3.AuthTypeCleartextPassword); err != nil {
		return
	}
	msg, err = b.Receive()
	if err != nil {
		d.refuse("no password: " + err.Error())
		return
	}
	pw, ok := msg.(*pgproto3.PasswordMessage)
	if !ok {
		d.refuse(fmt.Sprintf("expected a password message, got %T", msg))
		sendFatal(b, "08P01", fmt.Sprintf("expected a password message, got %T", msg), "")
		return
	}
	d.mu.Lock()
	d.stats.Tokens = append(d.stats.Tokens, pw.Password)
	d.mu.Unlock()
	if hint, reason := d.checkToken(pw.Password, endpoint, user); reason != "" {
		d.refuse(reason)
		sendFatal(b, "28000", dsqlAccessDenied, hint)
		return
	}
	d.session(raw, tc, b, &startup)
}

// admit takes a token from the connection-rate bucket and a connection slot, or says which
// DSQL error refuses the connection.
func (d *DSQL) admit() (code, text string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.nowLocked()
	if elapsed := now.Sub(d.refilled); elapsed > 0 {
		d.bucket = min(float64(d.opts.Burst), d.bucket+elapsed.Seconds()*d.opts.RatePerSecond)
	}
	d.refilled = now
	if d.bucket < 1 {
		return "53400", dsqlRateExceeded
	}
	d.bucket--
	if d.open >= d.opts.MaxConnections {
		return "53300", dsqlTooManyConns
	}
	d.open++
	return "", ""
}

func (d *DSQL) release() {
	d.mu.Lock()
	d.open--
	d.mu.Unlock()
}

// checkToken judges a password as DSQL judges a token. It returns the HINT DSQL adds to its
// access-denied error ("" for none) and the double's own reason, "" when the token is good.
// The reason never quotes the token.
func (d *DSQL) checkToken(token, endpoint, user string) (hint, reason string) {
	host, query, ok := strings.Cut(token, "?")
	if !ok {
		return "", "the password is not a token: no query"
	}
	// The Go SDK writes HOST?…, botocore and the JavaScript signer HOST/?…: the canonical
	// URI is / in both.
	host = strings.TrimSuffix(host, "/")
	q, err := CheckSigV4(host+"?"+query, ExampleSecret)
	if err != nil {
		if q != nil && strings.Contains(err.Error(), "does not verify") {
			return "", "signature does not verify"
		}
		return "", "the password is not a SigV4 presigned query"
	}
	cred := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(cred) != 5 || cred[4] != "aws4_request" {
		return "", "malformed X-Amz-Credential"
	}
	if cred[0] != ExampleKeyID {
		return "", fmt.Sprintf("unknown access key id %q", cred[0])
	}
	if cred[3] != "dsql" {
		return "", fmt.Sprintf("signed for service %q, not dsql", cred[3])
	}
	if cred[2] != d.Region {
		return "", fmt.Sprintf("signed for region %q, the cluster is in %q", cred[2], d.Region)
	}
	if endpoint == "" {
		return "", "the client sent no SNI server name, so the endpoint it reached is unknown"
	}
	if !strings.EqualFold(host, endpoint) {
		return "", fmt.Sprintf("signed for host %q, the client reached %q", host, endpoint)
	}
	// DSQL routes by the SNI name's cluster ID, and its certificate holds that name: a client
	// that sent another name (a PrivateLink client that signed for and sent the public name,
	// say) reached no cluster this endpoint serves.
	if !strings.EqualFold(endpoint, d.Host) {
		return "", fmt.Sprintf("the client sent SNI %q, not this cluster's endpoint %q", endpoint, d.Host)
	}
	date, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return "", "malformed X-Amz-Date"
	}
	if cred[1] != date.Format("20060102") {
		return "", "the credential scope's date is not X-Amz-Date's"
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires <= 0 || expires > dsqlMaxExpires {
		return "", "X-Amz-Expires missing or out of range"
	}
	now := d.Now()
	if date.After(now.Add(DSQLFutureSkew)) {
		return "", fmt.Sprintf("X-Amz-Date %s is more than %v after the double's clock (%s)", date.Format(time.RFC3339), DSQLFutureSkew, now.UTC().Format(time.RFC3339))
	}
	if end := date.Add(time.Duration(expires) * time.Second); now.After(end) {
		return "Signature expired", fmt.Sprintf("signature expired at %s, the double's clock says %s", end.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	want := "DbConnect"
	if user == "admin" {
		want = "DbConnectAdmin"
	}
	switch action := q.Get("Action"); action {
	case want:
		return "", ""
	case "DbConnect", "DbConnectAdmin":
		return fmt.Sprintf("Wrong user to action mapping. user: %s, action: %s", user, action), "wrong user to action mapping"
	default:
		return "", fmt.Sprintf("unknown action %q", action)
	}
}

// clusterIDOption takes -c amzn-cluster-id=ID out of a startup packet's options, returning
// the ID ("" for none) and the options left.
func clusterIDOption(options string) (id, rest string) {
	f := strings.Fields(options)
	var left []string
	for i := 0; i < len(f); i++ {
		if f[i] == "-c" && i+1 < len(f) && strings.HasPrefix(f[i+1], "amzn-cluster-id=") {
			id = strings.TrimPrefix(f[i+1], "amzn-cluster-id=")
			i++
			continue
		}
		left = append(left, f[i])
	}
	return id, strings.Join(left, " ")
}

// session opens the client's session on the real server through its Unix socket (trusted, so
// no password), hands the server's startup answers to the client, and relays both ways.
func (d *DSQL) session(raw net.Conn, tc *tls.Conn, b *pgproto3.Backend, startup *pgproto3.StartupMessage) {
	be, err := net.DialTimeout("unix", d.backend, 30*time.Second)
	if err != nil {
		d.refuse("backend: " + err.Error())
		sendFatal(b, "08006", "the DSQL double cannot reach its PostgreSQL: "+err.Error(), "")
		return
	}
	if !d.track(be) {
		return
	}
	defer d.untrack(be)
	be.SetDeadline(time.Now().Add(dsqlStartupTimeout))
	f := pgproto3.NewFrontend(be, be)
	// The client's own startup packet (protocol version, user, database, options,
	// application_name…) goes on as it came, so the server negotiates with the client.
	f.Send(startup)
	if err := f.Flush(); err != nil {
		d.refuse("backend: " + err.Error())
		return
	}
	var pid uint32
	for ready := false; !ready; {
		msg, err := f.Receive()
		if err != nil {
			d.refuse("backend: " + err.Error())
			return
		}
		switch m := msg.(type) {
		case *pgproto3.AuthenticationOk, *pgproto3.ParameterStatus, *pgproto3.NegotiateProtocolVersion, *pgproto3.NoticeResponse:
			b.Send(m)
		case *pgproto3.BackendKeyData:
			pid = m.ProcessID
			d.mu.Lock()
			d.sessions[pid] = append([]byte(nil), m.SecretKey...)
			d.mu.Unlock()
			defer func() {
				d.mu.Lock()
				delete(d.sessions, pid)
				d.mu.Unlock()
			}()
			b.Send(m)
		case *pgproto3.ReadyForQuery:
			b.Send(m)
			ready = true
		case *pgproto3.ErrorResponse:
			d.refuse("the server refused the session: " + m.Message)
			b.Send(m)
			b.Flush()
			return
		default:
			d.refuse(fmt.Sprintf("backend sent %T at startup", msg))
			sendFatal(b, "08P01", fmt.Sprintf("the DSQL double's PostgreSQL sent %T at startup; it must trust local connections", msg), "")
			return
		}
	}
	// Counted, and the session's start taken, before the client hears ReadyForQuery: a test
	// that has connected sees it, and may move the clock at once without moving the cap.
	d.mu.Lock()
	d.stats.Accepted++
	start := d.nowLocked()
	hook := d.readySent
	d.mu.Unlock()
	if err := b.Flush(); err != nil {
		return
	}
	if hook != nil {
		hook()
	}
	raw.SetDeadline(time.Time{})
	be.SetDeadline(time.Time{})

	out := &frameWriter{w: bufio.NewWriterSize(tc, 32<<10)}
	stop := make(chan struct{})
	var once sync.Once
	end := func() { once.Do(func() { close(stop) }) }
	var relays sync.WaitGroup
	relays.Add(2)
	go func() { // server to client, whole messages, so the cap can put its error between two
		defer relays.Done()
		defer end()
		out.copyFrames(be)
	}()
	go func() {
		defer relays.Done()
		defer end()
		io.Copy(be, tc)
	}()
	if d.waitCap(start.Add(d.opts.SessionCap), stop) {
		d.mu.Lock()
		d.stats.Capped++
		d.mu.Unlock()
		out.final(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "57P01", Message: dsqlSessionCapMsg})
	}
	raw.Close()
	be.Close()
	relays.Wait()
}

// waitCap waits until the double's clock reaches deadline (true) or stop is closed (false).
func (d *DSQL) waitCap(deadline time.Time, stop <-chan struct{}) bool {
	for {
		d.mu.Lock()
		left, ticked := deadline.Sub(d.nowLocked()), d.ticked
		d.mu.Unlock()
		if left <= 0 {
			return true
		}
		timer := time.NewTimer(left)
		select {
		case <-stop:
			timer.Stop()
			return false
		case <-ticked:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// frameWriter writes whole protocol messages to the client, one writer at a time; after final
// it writes nothing more.
type frameWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	done bool
}

// copyFrames copies messages from the server, each whole, flushing unless the next message
// is already all there. Only the framing (type byte, length) is read.
func (fw *frameWriter) copyFrames(src io.Reader) {
	r := bufio.NewReaderSize(src, 32<<10)
	head := make([]byte, 5)
	for {
		if _, err := io.ReadFull(r, head); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(head[1:]))
		if n < 4 {
			return
		}
		body := make([]byte, n-4)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		fw.mu.Lock()
		if fw.done {
			fw.mu.Unlock()
			return
		}
		fw.w.Write(head)
		fw.w.Write(body)
		var err error
		if !wholeFrameBuffered(r) {
			err = fw.w.Flush() // the client gets what there is before the double waits for more
		}
		fw.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// wholeFrameBuffered reports whether r holds the whole of the next message already.
func wholeFrameBuffered(r *bufio.Reader) bool {
	head, err := r.Peek(min(r.Buffered(), 5))
	if err != nil || len(head) < 5 {
		return false
	}
	return r.Buffered() >= 1+int(binary.BigEndian.Uint32(head[1:]))
}

func (fw *frameWriter) final(msg pgproto3.BackendMessage) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	fw.done = true
	if buf, err := msg.Encode(nil); err == nil {
		fw.w.Write(buf)
	}
	fw.w.Flush()
}

// cancel forwards a cancel request for a session the double relays to the real server, the
// way a client would send it there; other cancel requests are dropped, as PostgreSQL drops
// them.
func (d *DSQL) cancel(m *pgproto3.CancelRequest) {
	d.mu.Lock()
	key, ok := d.sessions[m.ProcessID]
	d.mu.Unlock()
	if !ok || !bytes.Equal(key, m.SecretKey) {
		return
	}
	c, err := net.DialTimeout("unix", d.backend, 30*time.Second)
	if err != nil {
		return
	}
	if !d.track(c) {
		return
	}
	defer d.untrack(c)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	f := pgproto3.NewFrontend(c, c)
	f.Send(&pgproto3.CancelRequest{ProcessID: m.ProcessID, SecretKey: key})
	if err := f.Flush(); err != nil {
		return
	}
	// The server closes the connection once it has read the request, as libpq waits for.
	if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, io.EOF) {
		return
	}
	d.mu.Lock()
	d.stats.Cancels++
	d.mu.Unlock()
}
