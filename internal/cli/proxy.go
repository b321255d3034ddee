package cli

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/internal/proxy"
	"github.com/dsqlenv/dsqlenv/internal/roots"
	"github.com/dsqlenv/dsqlenv/internal/safefile"
	"github.com/dsqlenv/dsqlenv/internal/text"
	"github.com/dsqlenv/dsqlenv/pgfile"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// proxyOptions are what `dsqlenv proxy` is told on its command line.
type proxyOptions struct {
	global
	names       []string
	listen      map[string]string // profile → loopback host:port
	noPassword  bool
	maxSessions int
	warm        int
	warmAge     time.Duration
	drain       time.Duration
	quiet       bool
	check       bool
	http        string // --http: loopback host:port for health, metrics and sessions
	logFormat   string // text or json
	log         *proxyLog
	// flagSet names the flags given on the command line, which win over a profile's proxy:
	// block.
	flagSet map[string]bool
}

// proxySettings are what the proxy does for one profile: the flag when given, else the
// profile's proxy: block (or the defaults' one), else the flag's default.
type proxySettings struct {
	warm           int
	warmAge, drain time.Duration
}

func (o proxyOptions) settingsFor(conn *profiles.Connection) proxySettings {
	s := proxySettings{warm: o.warm, warmAge: o.warmAge, drain: o.drain}
	p := conn.Proxy
	if p.Warm.Set && !o.flagSet["warm"] {
		s.warm = p.Warm.Value
	}
	if p.WarmAge.Set && !o.flagSet["warm-age"] {
		s.warmAge = p.WarmAge.Value
	}
	if p.Drain.Set && !o.flagSet["drain"] {
		s.drain = p.Drain.Value
	}
	return s
}

func newProxyCommand(r *run) *cli.Command {
	var o proxyOptions
	var listen cli.StringSlice
	return &cli.Command{
		Name:      "proxy",
		Category:  "Commands",
		Usage:     "serve PROFILE on a local socket, signing every connection with a fresh token",
		ArgsUsage: "PROFILE...",
		Description: `Runs in the foreground until SIGINT or SIGTERM, with one local PostgreSQL endpoint
per PROFILE. Each client session gets its own DSQL session, opened with a token
minted for the user the client names (admin signs DbConnectAdmin, any other role
DbConnect), verify-full TLS against the profile's roots (direct negotiation with
ALPN postgresql unless the profile says sslnegotiation: postgres). So GUIs, pools
and psql's automatic reconnect never meet an expired token, and the token never
reaches a client.

Unix socket (Linux, macOS): $XDG_RUNTIME_DIR/dsqlenv/PROFILE/.s.PGSQL.5432 (without
XDG_RUNTIME_DIR, a private directory under the state directory; a short private
directory in /tmp when the path would pass the 104-byte limit), mode 0700, and only
your own user may connect (the peer's user ID is checked on every connection).

--listen [PROFILE=]127.0.0.1:PORT (or [::1]:PORT, or localhost:PORT) adds a loopback TCP
port for JDBC tools, GUIs and Windows, held on both 127.0.0.1 and [::1] (the proxy
refuses to start when another program has either). Clients there log in with
SCRAM-SHA-256 and a random local password, made once per profile (it does not
rotate) and kept 0600 under $XDG_STATE_HOME/dsqlenv/proxy/; lines for it go into
your libpq password file (PGPASSFILE or ~/.pgpass), for every role and database on the
port (localhost, 127.0.0.1 and ::1), so libpq programs need nothing typed; the lines an
earlier run wrote for another port with the same password are taken back. The port also
answers TLS, with a self-signed certificate for localhost, 127.0.0.1 and ::1 kept in the
same folder (localhost.crt), which the printed psql line verifies (sslmode=verify-full). --no-password turns that check off: every local user
can then act as your IAM identity.

--listen, --warm, --warm-age and --drain may instead be set in the profile's proxy: block
(or in defaults:), as listen:, warm:, warm_age: and drain:; a flag wins over the file.

With --log-format json, each line is a JSON object with the same fields (session lines
have msg "session"). Refused or cancelled connections before a login are logged too.

At start, one line per endpoint on stderr says how to connect. Then one line per
session when it ends (--quiet: none): profile, user, database, client, duration,
bytes each way, why it closed. Never a token or a password.

--check logs in to each cluster once at start, as the profile's user, through the path
every session takes (credentials, token, TLS, login), and exits 1 with the fix when
one fails: an expired SSO session shows at start, not at the first client.

Under systemd: Type=notify is told READY=1 once the proxy listens and STOPPING=1 at
the drain (NOTIFY_SOCKET); with socket activation (LISTEN_FDS), the sockets systemd
passes are served instead of the proxy's own (the README has both unit files).

--http 127.0.0.1:PORT serves, without authentication (so on loopback only): /startup,
/liveness, /readiness (503 while starting or draining, when a profile cannot mint a token,
cannot reach its cluster or has --max-sessions client sessions; each check's answer is kept
10 s), /metrics in Prometheus' text format, and /sessions, the
open sessions as JSON (profile, user, database, application_name, client, age in
seconds, state).

SIGTERM, SIGHUP or SIGINT stops accepting and waits --drain for open sessions, then closes
them (telling those that wait for their client 57P01, as PostgreSQL does) and says
how many it cut; a second SIGINT closes them at once.
The global --timeout bounds getting credentials and each session's token; --debug logs
each mint.

Examples:
   dsqlenv proxy prod
   psql "host=$XDG_RUNTIME_DIR/dsqlenv/prod dbname=postgres user=admin"
   dsqlenv proxy --listen 127.0.0.1:6432 prod     # then DBeaver: 127.0.0.1:6432, SSL off
   dsqlenv proxy --listen prod=127.0.0.1:6432 --listen dev=127.0.0.1:6433 prod dev`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "listen", Destination: &listen, Usage: "also listen on loopback TCP `[PROFILE=]ADDR` (127.0.0.1:PORT, [::1]:PORT or localhost:PORT: both families are held); PROFILE= is needed with several profiles"},
			&cli.BoolFlag{Name: "no-password", Destination: &o.noPassword, Usage: "do not ask TCP clients for the local password (every local user can then use your IAM identity)"},
			&cli.IntFlag{Name: "max-sessions", Destination: &o.maxSessions, Value: 500, Usage: "client sessions per profile at once; more are refused with SQLSTATE 53300"},
			&cli.IntFlag{Name: "warm", Destination: &o.warm, Usage: "keep `N` DSQL sessions open ahead for each startup (user, database, options, application_name) served, so the next client of it connects with no round trip to the region; each idles on DSQL and counts against --max-sessions and DSQL's connection quota (0: none)"},
			&cli.DurationFlag{Name: "warm-age", Destination: &o.warmAge, Value: profiles.DefaultWarmAge, Usage: "close and replace a warm session no client took within this time, so a client gets nearly all of DSQL's 60-minute session"},
			&cli.DurationFlag{Name: "drain", Destination: &o.drain, Value: profiles.DefaultDrain, Usage: "how long SIGTERM waits for open sessions before closing them"},
			&cli.BoolFlag{Name: "quiet", Destination: &o.quiet, Usage: "no line per session"},
			&cli.StringFlag{Name: "http", Destination: &o.http, Usage: "serve /startup, /liveness, /readiness, /metrics (Prometheus) and /sessions (JSON) on loopback `ADDR` (127.0.0.1:PORT)"},
			&cli.StringFlag{Name: "log-format", Destination: &o.logFormat, Value: "text", Usage: "`FORMAT` of the log on stderr: text (dsqlenv: lines) or json (one object a line, the same fields)"},
			&cli.BoolFlag{Name: "check", Destination: &o.check, Usage: "at start, mint a token and log in to each cluster once; exit 1 with the fix when one fails"},
		},
		Action: func(c *cli.Context) error {
			var err error
			o.global = r.globals()
			if o.names, err = args(c, "PROFILE", 1, -1); err != nil {
				return err
			}
			o.flagSet = map[string]bool{}
			for _, f := range []string{"warm", "warm-age", "drain"} {
				o.flagSet[f] = c.IsSet(f)
			}
			for i, n := range o.names {
				if slices.Contains(o.names[:i], n) {
					return usagef("proxy: profile %s is named twice: each profile is served once", n)
				}
			}
			if o.listen, err = listenOptions(listen.Value(), o.names); err != nil {
				return err
			}
			if o.maxSessions < 1 {
				return usagef("proxy: --max-sessions %d: give 1 or more", o.maxSessions)
			}
			if o.warm < 0 {
				return usagef("proxy: --warm %d: give 0 (none) or more", o.warm)
			}
			if msg := profiles.CheckWarmAge(o.warmAge); msg != "" {
				return usagef("proxy: --warm-age %s", msg)
			}
			if o.http != "" {
				if _, port, err := net.SplitHostPort(o.http); err != nil || port == "" {
					return usagef("proxy: --http %s: give HOST:PORT, such as 127.0.0.1:9090", o.http)
				}
				if !proxy.IsLoopback(o.http) {
					return usagef("proxy: --http %s: only a loopback address is served (127.0.0.1:PORT or [::1]:PORT): health, metrics and the session list have no authentication", o.http)
				}
			}
			if o.logFormat != "text" && o.logFormat != "json" {
				return usagef("proxy: --log-format %s: give text or json", o.logFormat)
			}
			if o.drain < 0 {
				return usagef("proxy: --drain %s: give a duration of zero or more, such as 30s", o.drain)
			}
			return runProxy(c.Context, r, o)
		},
	}
}

// listenOptions reads the --listen values: a bare ADDR for the one profile, or PROFILE=ADDR.
// Only loopback addresses are taken.
func listenOptions(values, names []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range values {
		name, addr, named := strings.Cut(v, "=")
		if !named {
			if len(names) != 1 {
				return nil, usagef("proxy: --listen %s: with several profiles, say which: --listen PROFILE=%s", v, v)
			}
			name, addr = names[0], v
		}
		known := false
		for _, n := range names {
			known = known || n == name
		}
		switch _, port, err := net.SplitHostPort(addr); {
		case !known:
			return nil, usagef("proxy: --listen %s: %s is not one of the profiles to serve (%s)", v, name, strings.Join(names, ", "))
		case err != nil || port == "":
			return nil, usagef("proxy: --listen %s: give HOST:PORT, such as 127.0.0.1:6432 or [::1]:6432", v)
		case !proxy.IsLoopback(addr):
			return nil, usagef("proxy: --listen %s: only 127.0.0.1, [::1] or localhost is served: whoever logs in there acts as your IAM identity, and the local certificate and password-file lines name only these; give --listen 127.0.0.1:%s", v, port)
		case out[name] != "":
			return nil, usagef("proxy: --listen: two addresses for %s", name)
		}
		out[name] = addr
	}
	return out, nil
}

// listenClash says which two profiles would listen on the same TCP port (a listen: in
// defaults: gives every profile the same one), rather than the second's "address already in
// use". Every listen holds its port in both loopback families (proxy.ListenTCP), so the
// same port clashes whatever the hosts; port 0 is the system's choice and never clashes.
func listenClash(listen map[string]string, names []string) error {
	for i, a := range names {
		for _, b := range names[i+1:] {
			_, pa, _ := net.SplitHostPort(listen[a])
			_, pb, _ := net.SplitHostPort(listen[b])
			if pa == "" || pa != pb || pa == "0" {
				continue
			}
			return usagef("proxy: profiles %s and %s would both listen on %s: give each its own port, with listen: in each profile's proxy: block (not in defaults:) or --listen %s=127.0.0.1:PORT --listen %s=127.0.0.1:PORT", a, b, listen[b], a, b)
		}
	}
	return nil
}

// endpoint is one profile served: its proxy, its listeners, and what to tell the user.
type endpoint struct {
	profile string
	user    string // the profile's, which --check logs in as
	server  *proxy.Server
	signer  *profiles.Signer
	lns     []net.Listener
	lines   []string
	sockDir string        // the socket's directory, removed at the end when empty
	drain   time.Duration // how long a stop waits for its open sessions
}

func runProxy(ctx context.Context, r *run, o proxyOptions) error {
	o.log = newProxyLog(r, o.logFormat)
	// One P, as pgbouncer runs one thread, unless GOMAXPROCS says otherwise: relaying a
	// message wakes the goroutine blocked on that side, and with a second P the runtime also
	// wakes an idle thread to look for work each time; one P relayed pgbench -S for less CPU
	// per transaction and more TPS (BENCHMARKS.md, "dsqlenv proxy"). New sessions are paced
	// at 100 a second, whose handshakes one core holds.
	if r.Getenv("GOMAXPROCS") == "" {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	}
	// systemd's variables are taken at once, before anything could start a process that
	// inherits them.
	notifySocket := r.Getenv("NOTIFY_SOCKET")
	os.Unsetenv("NOTIFY_SOCKET")
	passed, passedNames, err := r.passedListeners()
	if err != nil {
		return err
	}
	var byProfile map[string][]net.Listener
	if passed != nil {
		if len(o.listen) > 0 {
			for _, ln := range passed {
				ln.Close()
			}
			return usagef("proxy: --listen and sockets from the service manager (LISTEN_FDS): give every address in the .socket unit (ListenStream=) instead")
		}
		if byProfile, err = listenersByProfile(passed, passedNames, o.names); err != nil {
			return err
		}
	}
	if err := o.waitsForAWS(); err != nil {
		return err
	}
	// Signals are the proxy's own from here: the first stops it gracefully, a second SIGINT
	// at once.
	sigs := make(chan os.Signal, 4)
	r.takeSignals(func(s os.Signal) {
		select {
		case sigs <- s:
		default:
		}
	})

	f, err := o.loadProfiles()
	if err != nil {
		return err
	}
	// Refused before the profiles are resolved for use, which warns about the route the proxy
	// would not take anyway.
	for _, name := range o.names {
		if conn, err := f.Resolve(name, r.Paths.Home); err == nil && conn.Unverified {
			return fmt.Errorf("proxy %s: privatelink: unverified: the proxy verifies the cluster's certificate, which does not hold the VPC endpoint's name: remove privatelink: and the proxy connects to the endpoint's address, verifying the cluster's PrivateLink name", name)
		}
	}
	sessions, err := r.sessionsIn(f, o.names, noRootCert)
	if err != nil {
		return err
	}
	for _, s := range sessions {
		addr := s.conn.Proxy.Listen
		switch _, flag := o.listen[s.conn.Profile]; {
		case !addr.Set || flag:
		case passed != nil:
			o.log.say("proxy %s: listen %s in %s is left aside: the service manager passes the sockets (LISTEN_FDS)", s.conn.Profile, addr.Value, s.file)
		default:
			o.listen[s.conn.Profile] = addr.Value
		}
	}
	if err := listenClash(o.listen, o.names); err != nil {
		return err
	}
	if !proxySockets(r.GOOS) && len(o.listen) < len(o.names) {
		return usagef("proxy: %s, or listen: in its proxy: block", noProxySocket(r.GOOS))
	}
	var web *proxyHTTP
	if o.http != "" {
		if web, err = r.startHTTP(o); err != nil {
			return err
		}
		defer web.close()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var eps []*endpoint
	defer func() {
		for _, ep := range eps {
			if ep.server != nil {
				ep.server.Close()
			}
			for _, ln := range ep.lns {
				ln.Close()
			}
			if ep.sockDir != "" {
				os.Remove(ep.sockDir) // only when empty: nothing else of the user's goes
			}
			ep.signer.Close()
		}
	}()
	// The psql line for TCP carries require_auth=scram-sha-256 where the psql on PATH takes it.
	var lib libpqOnPath
	if (len(o.listen) > 0 || passed != nil) && !o.noPassword {
		lib = probeLibpq(r.Env)
	}
	for _, s := range sessions {
		ep, err := r.startEndpoint(ctx, o, s, lib, byProfile[s.conn.Profile])
		if ep != nil {
			eps = append(eps, ep)
		}
		if err != nil {
			return err
		}
	}
	if o.check {
		if err := r.checkEndpoints(ctx, o, eps); err != nil {
			return err
		}
	}
	// Listening since the endpoints started: a client that comes now waits in the backlog.
	// Ready before the lines saying how to connect, which whoever reads them may act on.
	web.ready(eps)
	if err := sdNotify(notifySocket, "READY=1\nSTATUS=serving "+strings.Join(o.names, ", ")); err != nil {
		o.log.say("proxy: %v", err)
	}
	serveErr := make(chan error, 8)
	for _, ep := range eps {
		for _, ln := range ep.lns {
			go func(s *proxy.Server, ln net.Listener) { serveErr <- s.Serve(ln) }(ep.server, ln)
		}
		for _, l := range ep.lines {
			o.log.say("proxy %s: %s", ep.profile, l)
		}
	}

	var first os.Signal
	select {
	case first = <-sigs:
	case err := <-serveErr:
		if err != nil {
			return proxyError("", err)
		}
	}
	web.draining()
	if err := sdNotify(notifySocket, "STOPPING=1"); err != nil {
		o.log.say("proxy: %v", err)
	}
	longest := time.Duration(0)
	for _, ep := range eps {
		longest = max(longest, ep.drain)
	}
	o.log.say("proxy: %s: waiting up to %s for open sessions (Ctrl-C again closes them now)", signalName(first), longest)
	stopCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for s := range sigs {
			if s == os.Interrupt || s == syscall.SIGTERM {
				stop()
				return
			}
		}
	}()
	var wg sync.WaitGroup
	var cut atomic.Int64
	for _, ep := range eps {
		wg.Go(func() {
			drainCtx, cancel := context.WithTimeout(stopCtx, ep.drain)
			defer cancel()
			n, _ := ep.server.Drain(drainCtx)
			cut.Add(int64(n))
		})
	}
	wg.Wait()
	switch n := cut.Load(); {
	case n > 0:
		o.log.say("proxy: stopped; %d sessions were cut (told 57P01 when they waited for their client)", n)
	default:
		o.log.say("proxy: stopped; no session was cut")
	}
	return nil
}

// startEndpoint makes the proxy for one profile and its listeners, or takes the listeners
// the service manager passed (socket activation); lib is the libpq of the psql on PATH,
// which the printed psql line is for.
func (r *run) startEndpoint(ctx context.Context, o proxyOptions, s *session, lib libpqOnPath, passed []net.Listener) (*endpoint, error) {
	conn := s.conn
	pool, rootsName, err := r.upstreamRoots(conn)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %v", conn.Profile, err)
	}
	signer, err := profiles.NewSigner(ctx, conn)
	if err != nil {
		return nil, err
	}
	set := o.settingsFor(conn)
	ep := &endpoint{profile: conn.Profile, user: conn.User, signer: signer, drain: set.drain}
	cfg := proxy.Config{
		Profile: conn.Profile,
		Upstream: proxy.Upstream{
			Addr:            net.JoinHostPort(cmp.Or(conn.HostAddr, conn.Host), strconv.Itoa(conn.Port)), // vpc_endpoint's address, if any
			ServerName:      conn.Host,
			RootCAs:         pool,
			RootsFile:       rootsName,
			Direct:          conn.SSLNegotiation != "postgres",
			Region:          conn.Region,
			Database:        conn.Database,
			Options:         conn.Options,
			ApplicationName: conn.ApplicationName,
		},
		Mint: func(ctx context.Context, user string) (string, error) {
			debugf := func(format string, args ...any) {
				if o.debug {
					o.log.say("debug: "+format, args...)
				}
			}
			debugf("proxy %s: minting a token for %s in %s (--timeout %s)", conn.Profile, user, orSDK(conn.Region), text.FormatDuration(o.timeout))
			start := time.Now()
			tok, err := signer.Mint(ctx, user)
			if err != nil {
				debugf("proxy %s: no token for %s after %s: %v", conn.Profile, user, time.Since(start).Round(time.Millisecond), err)
				said := fmt.Errorf("dsqlenv: %s", strings.TrimPrefix(err.Error(), "dsqlenv: "))
				if ce := (*profiles.CredentialsError)(nil); errors.As(err, &ce) && ce.UserMustAct() {
					return "", proxy.UserError(said) // 28000: the client does not retry
				}
				return "", said
			}
			debugf("proxy %s: token for %s minted in %s", conn.Profile, user, time.Since(start).Round(time.Millisecond))
			return tok, nil
		},
		// --timeout bounds getting credentials and the token, as for every command.
		MintTimeout: o.timeout,
		PeerUID:     os.Getuid(),
		MaxSessions: o.maxSessions,
		Warm:        set.warm,
		WarmAge:     set.warmAge,
	}
	if !o.quiet {
		cfg.Log = o.log.session
	}
	var lns, unixLns []net.Listener
	for _, ln := range passed {
		ep.lns = append(ep.lns, ln)
		switch a := ln.Addr().(type) {
		case *net.UnixAddr:
			unixLns = append(unixLns, ln)
		case *net.TCPAddr:
			if !proxy.IsLoopback(a.IP.String()) {
				return ep, fmt.Errorf("proxy %s: the service manager passed a socket on %s: only a loopback address is served (ListenStream=127.0.0.1:PORT and [::1]:PORT): whoever logs in there acts as your IAM identity", conn.Profile, a)
			}
			lns = append(lns, ln)
		default:
			return ep, fmt.Errorf("proxy %s: the service manager passed a %s socket (%s): give a stream socket, ListenStream=", conn.Profile, ln.Addr().Network(), ln.Addr())
		}
	}
	if addr, ok := o.listen[conn.Profile]; ok {
		var err error
		if lns, err = proxy.ListenTCP(addr); err != nil {
			return ep, proxyError(conn.Profile, fmt.Errorf("listening on %s: %s", addr, strings.TrimPrefix(err.Error(), proxyPrefix)))
		}
		ep.lns = append(ep.lns, lns...)
	}
	if len(lns) > 0 {
		if cfg.TLS, cfg.TLSCertFile, err = r.localCertificate(); err != nil {
			return ep, fmt.Errorf("proxy %s: %v", conn.Profile, err)
		}
		ln := lns[0]
		host, port, _ := net.SplitHostPort(ln.Addr().String())
		// require_auth=scram-sha-256: libpq then never sends the password in cleartext,
		// which anyone holding the port while the proxy is down could ask for. libpq before
		// 16 rejects the keyword, so the line carries it only for a psql that takes it.
		requireAuth := ""
		if !o.noPassword && lib.requireAuth {
			requireAuth = " require_auth=scram-sha-256"
		}
		// sslmode=verify-full against the local certificate: the client makes sure it speaks to
		// the proxy before it sends anything, so whatever holds the port while the proxy is down
		// gets neither the password nor the queries, whatever the libpq (14 and newer match the
		// certificate's 127.0.0.1 and ::1).
		ep.lines = append(ep.lines,
			fmt.Sprintf("psql \"host=%s port=%s user=%s dbname=%s sslmode=verify-full sslrootcert=%s%s\"", host, port, conn.User, conn.Database, conninfoValue(cfg.TLSCertFile), requireAuth),
			fmt.Sprintf("jdbc:postgresql://%s/%s?user=%s&sslmode=disable", net.JoinHostPort(host, port), conn.Database, conn.User))
		if o.noPassword {
			ep.lines = append(ep.lines, "warning: --no-password: every local user can connect to "+listenerNames(lns)+" and act as your IAM identity")
		} else {
			pw, file, err := r.localPassword(conn.Profile)
			if err != nil {
				return ep, err
			}
			cfg.Password = pw
			passfile := r.libpqPassFile()
			if err := writeProxyPass(r.lockDir(), passfile, port, pw); err != nil {
				return ep, fmt.Errorf("proxy %s: adding the local password to %s: %v", conn.Profile, passfile, err)
			}
			ep.lines = append(ep.lines, fmt.Sprintf("TCP on %s: local password in %s (and in %s for every role and database on port %s)", listenerNames(lns), file, passfile, port))
		}
	}
	if ep.server, err = proxy.New(cfg); err != nil {
		return ep, proxyError(conn.Profile, err)
	}
	for _, ln := range unixLns {
		path := ln.Addr().String()
		line := fmt.Sprintf("socket %s from the service manager: libpq finds a socket named .s.PGSQL.PORT only (ListenStream=%%t/dsqlenv/%s/.s.PGSQL.5432)", path, conn.Profile)
		if port, ok := strings.CutPrefix(filepath.Base(path), ".s.PGSQL."); ok {
			line = fmt.Sprintf("psql \"host=%s port=%s user=%s dbname=%s\"", filepath.Dir(path), port, conn.User, conn.Database)
		}
		ep.lines = append([]string{line}, ep.lines...)
	}
	if proxySockets(r.GOOS) && passed == nil {
		// The fallback parent in /tmp is checked before anything goes into it: another user
		// who made it first could swap the socket folder inside.
		if parent := tmpSocketParent(); filepath.Dir(r.socketPath(conn.Profile)) == parent {
			if err := proxy.PrivateDir(parent, "remove it, or set XDG_RUNTIME_DIR to a short private directory of yours"); err != nil {
				return ep, proxyError(conn.Profile, err)
			}
		}
		dir, err := r.socketDir(conn.Profile)
		if err != nil {
			return ep, fmt.Errorf("proxy %s: %v", conn.Profile, err)
		}
		ln, err := proxy.ListenUnix(filepath.Join(dir, ".s.PGSQL.5432"))
		if err != nil {
			return ep, proxyError(conn.Profile, err)
		}
		ep.lns = append(ep.lns, ln)
		ep.sockDir = dir
		ep.lines = append([]string{fmt.Sprintf("psql \"host=%s user=%s dbname=%s\"", dir, conn.User, conn.Database)}, ep.lines...)
	}
	ep.lines = append(ep.lines, fmt.Sprintf("warm %d, warm age %s, drain %s", set.warm, text.FormatDuration(set.warmAge), text.FormatDuration(set.drain)))
	if conn.SSLMode != "verify-full" {
		ep.lines = append(ep.lines, fmt.Sprintf("note: the proxy verifies the cluster's certificate fully (verify-full), whatever sslmode %s says", conn.SSLMode))
	}
	return ep, nil
}

// conninfoValue is s as a value in a libpq connection string: quoted, with its quotes and
// backslashes escaped, when it holds a space, a quote or a backslash.
func conninfoValue(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\\") {
		return s
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// proxySockets says whether the proxy serves a Unix socket on goos: only where it can check
// the connecting user (SO_PEERCRED on Linux, LOCAL_PEERCRED on macOS); elsewhere a socket
// would let every local user in, so only --listen on loopback, with the local password.
func proxySockets(goos string) bool { return goos == "linux" || goos == "darwin" }

// noProxySocket says why there is no proxy socket on goos, and what to use instead.
func noProxySocket(goos string) string {
	if goos == "windows" {
		return "Windows has no Unix sockets here: give each profile a --listen 127.0.0.1:PORT"
	}
	return "no Unix socket on " + goos + ", where the proxy cannot check who connects to one (Linux and macOS can): give each profile a --listen 127.0.0.1:PORT"
}

// proxyPassHosts are the names a client may give for the proxy's TCP port, which holds both
// loopback families: libpq looks up a password-file line by the host as given.
var proxyPassHosts = []string{"localhost", "127.0.0.1", "::1"}

// writeProxyPass puts the local password into the libpq password file for every database
// and role on port (host:port:*:*:pw for each loopback name: the same password logs in any
// role), and takes back the lines earlier runs of the same profile left for other ports or
// for one role only. Those are known by the password, random and the profile's own; a
// user's own line never holds it. A user's own line for the same host:port:*:* stays: the
// proxy's lines then go first, since libpq takes the first line that matches.
func writeProxyPass(locks, passfile, port, pw string) error {
	var entries []pgfile.PassEntry
	for _, h := range proxyPassHosts {
		entries = append(entries, pgfile.PassEntry{Host: h, Port: port, Database: "*", User: "*", Password: pw, Wildcard: true})
	}
	ours := func(e pgfile.PassEntry) bool {
		return slices.Contains(proxyPassHosts, e.Host) && e.Port == port && e.Database == "*" && e.User == "*"
	}
	stale := func(e pgfile.PassEntry) bool {
		return e.Password == pw && slices.Contains(proxyPassHosts, e.Host) && (e.Port != port || e.Database != "*" || e.User != "*")
	}
	_, err := pgfile.EditPrivate(locks, passfile, func(old []byte) ([]byte, error) {
		if !slices.ContainsFunc(pgfile.ParsePass(old), func(e pgfile.PassEntry) bool { return ours(e) && e.Password != pw }) {
			return pgfile.MergePass(old, entries, stale)
		}
		// MergePass would replace the user's line: keep it, behind the proxy's.
		kept, err := pgfile.MergePass(old, nil, func(e pgfile.PassEntry) bool { return stale(e) || ours(e) && e.Password == pw })
		if err != nil {
			return nil, err
		}
		lines, err := pgfile.MergePass(nil, entries, nil)
		return append(lines, kept...), err
	})
	return err
}

// proxyPrefix begins the proxy package's errors, which stand alone in its log lines; the
// command's errors say dsqlenv and the profile already.
const proxyPrefix = "dsqlenv proxy: "

// proxyError is an error of the proxy package in the command's words: "proxy PROFILE: …"
// ("proxy: …" for every profile), never "proxy PROFILE: dsqlenv proxy: …".
func proxyError(profile string, err error) error {
	where := "proxy"
	if profile != "" {
		where += " " + profile
	}
	return fmt.Errorf("%s: %s", where, strings.TrimPrefix(err.Error(), proxyPrefix))
}

// listenerNames names the addresses of lns, for messages: "127.0.0.1:6432 and [::1]:6432".
func listenerNames(lns []net.Listener) string {
	var names []string
	for _, ln := range lns {
		names = append(names, ln.Addr().String())
	}
	return strings.Join(names, " and ")
}

// upstreamRoots is the pool the proxy verifies the cluster with, and its name for messages:
// the bundled Amazon roots, the system store, or the profile's PEM file.
func (r *run) upstreamRoots(conn *profiles.Connection) (*x509.CertPool, string, error) {
	switch conn.SSLRootCert {
	case profiles.RootAmazon:
		pool, err := roots.Pool()
		return pool, "the bundled Amazon roots", err
	case profiles.RootSystem:
		pool, err := x509.SystemCertPool()
		if err != nil {
			return nil, "", fmt.Errorf("sslrootcert system: %v", err)
		}
		return pool, "the system trust store", nil
	}
	data, _, err := safefile.Read(conn.SSLRootCert, maxRootCertFile)
	if err != nil {
		return nil, "", fmt.Errorf("sslrootcert: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, "", fmt.Errorf("sslrootcert %s holds no PEM certificate", conn.SSLRootCert)
	}
	return pool, conn.SSLRootCert, nil
}

// maxSocketPath is the longest Unix socket path every platform takes (sun_path is 104 bytes
// on macOS and the BSDs, 108 on Linux, with the terminating NUL).
const maxSocketPath = 103

// localCertificate is the TLS certificate the proxy gives TCP clients that ask for TLS (a
// GUI's sslmode=require), one for every profile: read from the state folder, or made and
// written there, 0600 like the key, the first time (or when the pair no longer loads). Under
// the lock of dsqlenv's writes there: two proxies starting at once (two profiles' units at
// login) would otherwise each make a pair, and one would serve a certificate that is not the
// file its printed psql line names.
func (r *run) localCertificate() (conf *tls.Config, certFile string, err error) {
	dir, err := r.proxyStateDir()
	if err != nil {
		return nil, "", fmt.Errorf("the local TLS certificate: %v", err)
	}
	certFile, keyFile := filepath.Join(dir, "localhost.crt"), filepath.Join(dir, "localhost.key")
	var pair tls.Certificate
	err = pgfile.Locked(r.lockDir(), dir, func() error {
		certPEM, cerr := readProxyState(certFile, false)
		keyPEM, kerr := readProxyState(keyFile, true)
		for _, e := range []error{cerr, kerr} {
			if e != nil && !errors.Is(e, fs.ErrNotExist) {
				return fmt.Errorf("reading the local TLS certificate: %v", e)
			}
		}
		var err error
		if pair, err = tls.X509KeyPair(certPEM, keyPEM); cerr == nil && kerr == nil && err == nil {
			return nil
		}
		if certPEM, keyPEM, err = proxy.LocalCertificate(); err != nil {
			return fmt.Errorf("making the local TLS certificate: %v", err)
		}
		for file, data := range map[string][]byte{keyFile: keyPEM, certFile: certPEM} {
			if _, err := pgfile.Replace(file, data, 0o600, nil); err != nil {
				return fmt.Errorf("writing the local TLS certificate: %v", err)
			}
		}
		if pair, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
			return fmt.Errorf("the local TLS certificate just made: %v", err) // a bug
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, certFile, nil
}

// localPassword is the profile's local password for TCP clients: read from its file, or made
// (32 random bytes) and written 0600 the first time, under the same lock as the certificate.
func (r *run) localPassword(profile string) (password, file string, err error) {
	dir, err := r.proxyStateDir()
	if err != nil {
		return "", "", fmt.Errorf("proxy %s: the local password: %v", profile, err)
	}
	file = filepath.Join(dir, profile+".password")
	err = pgfile.Locked(r.lockDir(), dir, func() error {
		data, err := readProxyState(file, true)
		if password = strings.TrimSpace(string(data)); err == nil && password != "" {
			return nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("proxy %s: reading the local password: %v", profile, err)
		}
		var b [32]byte
		rand.Read(b[:])
		password = base64.RawURLEncoding.EncodeToString(b[:])
		if _, err := pgfile.Replace(file, []byte(password+"\n"), 0o600, nil); err != nil {
			return fmt.Errorf("proxy %s: writing the local password: %v", profile, err)
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return password, file, nil
}

// proxyStateDir is the folder of the proxy's local passwords and TLS key, made 0700 when
// missing and otherwise checked, without following a link, to be the user's own and closed
// to others: in a state folder another user can write they could have made it first.
func (r *run) proxyStateDir() (string, error) {
	dir := filepath.Join(r.Paths.StateHome, "dsqlenv", "proxy")
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return "", err
	}
	if r.GOOS == "windows" { // no mode bits there; ReadOwned checks each file's owner
		return dir, os.MkdirAll(dir, 0o700)
	}
	if err := proxy.PrivateDir(dir, "remove it, or set XDG_STATE_HOME to a folder only you can write"); err != nil {
		return "", errors.New(strings.TrimPrefix(err.Error(), proxyPrefix))
	}
	return dir, nil
}

// readProxyState reads one of the proxy's own files in the state folder (a local password,
// the TLS key or certificate): only a regular file of the user's own, never through a link,
// since in a state folder another user could write they may have planted either; and, for a
// secret, one that group and others cannot read, since then it may no longer be a secret.
// Windows has no such mode bits; ReadOwned checks the owner there.
func readProxyState(file string, secret bool) ([]byte, error) {
	data, err := safefile.ReadOwned(file, 64<<10)
	if err != nil || !secret || runtime.GOOS == "windows" {
		return data, err
	}
	if fi, err := os.Lstat(file); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %04o, so others may have read it: remove it (the proxy makes a new one) and keep its folder 0700", file, fi.Mode().Perm())
	}
	return data, nil
}
