package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/internal/roots"
	"github.com/dsqlenv/dsqlenv/internal/safefile"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// Timeouts of the doctor's network steps: short, so a broken network shows up as a timeout
// rather than a hang.
const (
	doctorDNSTimeout  = 3 * time.Second
	doctorDialTimeout = 3 * time.Second
	doctorTLSTimeout  = 5 * time.Second
	doctorPsqlTimeout = 15 * time.Second
)

func doctorCommand(r *run) *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Category:  "Commands",
		Usage:     "check everything between a profile and a working connection",
		ArgsUsage: "[PROFILE...]",
		Description: `Checks, for each named profile (all when none is named): the profiles file, the
endpoint and region, AWS credentials and a minted token, the root certificate
(and, for sslrootcert: system, the OS trust store and libpq 16+), which TLS
negotiation the libpq of the psql on PATH uses (direct needs libpq 17+), DNS, a
TCP connection, a TLS handshake verified like verify-full and started as the
profile's sslnegotiation says (direct: a ClientHello with ALPN postgresql at once;
postgres, libpq's default when the profile sets none: PostgreSQL's SSLRequest first), and, when psql is on PATH,
psql -c 'select 1' with the profile's settings.
One line per check: ok, warn or FAIL, with the fix. Exit status 1 when any check fails.

Examples:
   dsqlenv doctor
   dsqlenv doctor prod`,
		Action: func(c *cli.Context) error {
			g, err := globalsOf(c, r)
			if err != nil {
				return err
			}
			return doctorRun(c, r, g, c.Args().Slice())
		},
	}
}

// doctor writes its report straight to stdout, a line per check as it goes: it is for a
// person watching, and checks can take seconds each.
type doctor struct {
	r      *run
	c      *cli.Context
	g      global
	failed bool
	lib    *libpqOnPath // probed once, at the first profile
}

func (d *doctor) say(status, profile, msg, fix string) {
	if status == "FAIL" {
		d.failed = true
	}
	prefix := ""
	if profile != "" {
		prefix = profile + ": "
	}
	fmt.Fprintf(d.r.Stdout, "%-4s  %s%s\n", status, termSafe(prefix), termSafe(msg))
	if fix != "" {
		fmt.Fprintf(d.r.Stdout, "      fix: %s\n", termSafe(fix))
	}
}

func doctorRun(c *cli.Context, r *run, g global, names []string) error {
	d := &doctor{r: r, c: c, g: g}
	path := g.config
	f, err := profiles.Load(path)
	if err != nil {
		d.say("FAIL", "", "profiles file: "+err.Error(), "fix the file, or run dsqlenv init")
		return &silentError{exitError}
	}
	d.say("ok", "", fmt.Sprintf("profiles file %s parses (%d profiles)", path, len(f.Profiles)), "")
	if r.Getenv("PGPASSWORD") != "" {
		// libpq reads a password file only when no password was given (fe-connect.c,
		// pqConnectOptions2), and pgx does the same.
		d.say("warn", "", "PGPASSWORD is set in this environment: libpq and pgx use it before any password file (passfile=, PGPASSFILE), so tokens written by dsqlenv pgpass are ignored",
			"unset PGPASSWORD (fish: set -e PGPASSWORD; PowerShell: Remove-Item Env:PGPASSWORD) where you use service files or pgpass")
	}
	if len(names) == 0 {
		names = f.Names()
	}
	for _, name := range names {
		d.profile(f, name)
	}
	if d.failed {
		return &silentError{exitError}
	}
	return nil
}

func (d *doctor) profile(f *profiles.File, name string) {
	s, err := d.r.sessionOf(f, name, clientsOf(d.r.GOOS == "windows"))
	if err != nil {
		d.say("FAIL", name, err.Error(), "")
		return
	}
	conn := s.conn
	region := conn.Region
	if region == "" {
		region = "(from the AWS SDK)"
	}
	d.say("ok", name, fmt.Sprintf("endpoint %s, port %d, region %s", conn.Host, conn.Port, region), "")

	minted := false
	if err := d.r.mint(d.c.Context, d.g, s); err != nil {
		d.say("FAIL", name, "AWS credentials: "+err.Error(), "")
	} else {
		minted = true
		m := s
		who := "the default credential chain"
		if conn.AWSProfile != "" {
			who = "aws profile " + conn.AWSProfile
		}
		key := m.info.AccessKey
		if len(key) > 4 {
			key = "…" + key[len(key)-4:]
		}
		d.say("ok", name, fmt.Sprintf("credentials from %s (access key %s); token for %s lives %s", who, key, m.info.Action, profiles.FormatDuration(m.info.Lifetime)), "")
		if m.info.Lifetime+time.Second < conn.ExpiresIn {
			d.say("warn", name, fmt.Sprintf("the token lives %s, not %s: the credentials expire first", profiles.FormatDuration(m.info.Lifetime), profiles.FormatDuration(conn.ExpiresIn)), "refresh the AWS session (aws sso login) or lower expires_in")
		}
	}

	if d.lib == nil {
		lib := probeLibpq(d.r.Env)
		d.lib = &lib
	}
	roots := d.rootCheck(name, s, *d.lib)
	d.negotiation(name, conn, *d.lib)
	if !d.network(name, conn, roots) {
		return
	}
	if minted {
		d.psql(name, s)
	}
}

// rootCheck checks the configured root and returns the pool to verify the server with.
func (d *doctor) rootCheck(name string, s *session, lib libpqOnPath) *x509.CertPool {
	conn := s.conn
	switch conn.SSLRootCert {
	case profiles.RootSystem:
		pool, err := x509.SystemCertPool()
		amazon, aerr := roots.Certificates()
		switch {
		case err != nil || aerr != nil:
			d.say("warn", name, fmt.Sprintf("cannot read the OS trust store: %v", errors.Join(err, aerr)), "leave sslrootcert out: the default, amazon, is the bundled Amazon roots")
		default:
			if _, err := amazon[0].Verify(x509.VerifyOptions{Roots: pool}); err != nil {
				d.say("FAIL", name, "sslrootcert system: the OS trust store does not hold Amazon Root CA 1, the root of DSQL's certificates", "leave sslrootcert out (the bundled Amazon roots), or install the ca-certificates package")
			} else {
				d.say("ok", name, "sslrootcert system: the OS trust store holds Amazon Root CA 1", "")
			}
		}
		switch {
		case !lib.found:
		case !lib.system:
			// libpq 15 and older take "system" as a file name in the working directory.
			d.say("FAIL", name, fmt.Sprintf("sslrootcert system needs libpq 16 or newer: %s on PATH loads an older libpq, which reads \"system\" as a file name (root certificate file \"system\" does not exist)", lib.psql),
				"leave sslrootcert out (the default, amazon: the bundled Amazon roots, which every libpq reads), or install PostgreSQL 16+ client tools")
		default:
			d.say("ok", name, fmt.Sprintf("the libpq of %s on PATH is 16 or newer: it reads sslrootcert=system as the OS trust store", lib.psql), "")
		}
		return pool
	case profiles.RootAmazon:
		// psql, run below, needs the file now.
		if err := d.r.flush(); err != nil {
			d.say("FAIL", name, "sslrootcert amazon: "+err.Error(), "")
			return nil
		}
		pool, err := roots.Pool()
		if err != nil {
			d.say("FAIL", name, "sslrootcert amazon: "+err.Error(), "")
			return nil
		}
		d.say("ok", name, "sslrootcert amazon: the bundled Amazon Root CA 1 to 4 at "+s.rootCert, "")
		return pool
	}
	data, _, err := safefile.Read(conn.SSLRootCert, maxRootCertFile)
	if err != nil {
		d.say("FAIL", name, "sslrootcert: "+err.Error(), "give the path of a PEM file, or leave sslrootcert out for the bundled Amazon roots")
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		d.say("FAIL", name, "sslrootcert "+conn.SSLRootCert+" holds no PEM certificate", "give a PEM file with the CA certificate, or leave sslrootcert out for the bundled Amazon roots")
		return nil
	}
	d.say("ok", name, "sslrootcert "+conn.SSLRootCert+" holds a certificate", "")
	return pool
}

// maxRootCertFile bounds an sslrootcert file doctor reads: a system bundle of every public
// root is about 200 KB.
const maxRootCertFile = 4 << 20

// negotiation says how the libpq on PATH will start TLS with this profile: libpq 17+ follows
// sslnegotiation, older libpq ignores PGSSLNEGOTIATION and always sends an SSLRequest first,
// but rejects a service file that names the keyword.
func (d *doctor) negotiation(name string, conn *profiles.Connection, lib libpqOnPath) {
	if !lib.found {
		return
	}
	switch {
	case lib.direct && conn.SSLNegotiation == "direct":
		d.say("ok", name, fmt.Sprintf("sslnegotiation direct: the libpq of %s on PATH is 17 or newer and sends the TLS ClientHello at once (one round trip less)", lib.psql), "")
	case lib.direct:
		d.say("ok", name, fmt.Sprintf("sslnegotiation %s: the libpq of %s on PATH sends an SSLRequest first", orDefault(conn.SSLNegotiation, "postgres, libpq's default"), lib.psql), "")
		if conn.SSLNegotiation == "" {
			d.say("note", name, "this libpq is 17 or newer: sslnegotiation: direct in the profile would save one round trip per connection (about 50 ms through 25 ms of latency), but lib/pq 1.12.3 and older then fail (no ALPN, lib/pq#1331), and so does libpq before 17 reading the service file or URL", "")
		}
	default:
		d.say("ok", name, fmt.Sprintf("sslnegotiation %s: the libpq of %s on PATH is older than 17 and sends an SSLRequest first", orDefault(conn.SSLNegotiation, "unset"), lib.psql), "")
		if conn.SSLNegotiation != "" {
			d.say("warn", name, "sslnegotiation is set in the profiles file, so dsqlenv service and url write it, and libpq before 17 rejects them (syntax error in service file, invalid URI query parameter)",
				"remove sslnegotiation: from the profile, or install PostgreSQL 17+ client tools")
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// network resolves, connects, asks PostgreSQL for TLS and verifies the handshake.
func (d *doctor) network(name string, conn *profiles.Connection, roots *x509.CertPool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), doctorDNSTimeout)
	addrs, err := net.DefaultResolver.LookupHost(ctx, conn.Host)
	cancel()
	if err != nil {
		msg := err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			msg = fmt.Sprintf("timed out after %s", doctorDNSTimeout)
		}
		d.say("FAIL", name, "DNS: "+conn.Host+": "+msg, "check the endpoint, your network or VPN")
		return false
	}
	d.say("ok", name, fmt.Sprintf("DNS: %s resolves to %s", conn.Host, strings.Join(addrs, ", ")), "")
	addr := net.JoinHostPort(conn.Host, strconv.Itoa(conn.Port))
	raw, err := net.DialTimeout("tcp", addr, doctorDialTimeout)
	if err != nil {
		msg := err.Error()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			msg = fmt.Sprintf("timed out after %s", doctorDialTimeout)
		}
		d.say("FAIL", name, "TCP connect to "+addr+": "+msg, "check the port, security groups, VPN or firewall")
		return false
	}
	defer raw.Close()
	d.say("ok", name, "TCP connect to "+addr, "")
	raw.SetDeadline(time.Now().Add(doctorTLSTimeout))
	direct := conn.SSLNegotiation == "direct"
	if !direct {
		// PostgreSQL's SSLRequest: length 8, code 80877103; the server answers 'S' or 'N'.
		req := make([]byte, 8)
		binary.BigEndian.PutUint32(req[0:], 8)
		binary.BigEndian.PutUint32(req[4:], 80877103)
		ans := make([]byte, 1)
		if _, err = raw.Write(req); err == nil {
			_, err = io.ReadFull(raw, ans)
		}
		if err != nil || ans[0] != 'S' {
			d.say("FAIL", name, fmt.Sprintf("PostgreSQL SSLRequest: the server did not accept TLS (%v)", errOr(err, "answered "+strconv.Quote(string(ans)))), "is this a PostgreSQL endpoint with TLS?")
			return false
		}
	}
	if roots == nil {
		return false
	}
	cfg := &tls.Config{ServerName: conn.Host, RootCAs: roots, MinVersion: tls.VersionTLS12}
	if direct {
		// Direct negotiation, as libpq 17+ does it: the ClientHello comes first, offering
		// ALPN "postgresql", which the server must select (PostgreSQL documentation,
		// "Protocol Flow", SSL Session Encryption).
		cfg.NextProtos = []string{"postgresql"}
	}
	if conn.SSLMode != "verify-full" {
		// verify-ca and require do not check the host name; verify the chain only here.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}
	}
	tc := tls.Client(raw, cfg)
	if err := tc.Handshake(); err != nil {
		if direct && !certProblem(err) {
			d.say("FAIL", name, "TLS with direct negotiation (sslnegotiation direct): "+directInPlainWords(err), noDirectFix)
			return false
		}
		d.say("FAIL", name, "TLS: "+tlsInPlainWords(err, conn.Host), "point sslrootcert at the CA that signs the server's certificate (DSQL: leave sslrootcert out for the bundled Amazon roots)")
		return false
	}
	st := tc.ConnectionState()
	if direct && st.NegotiatedProtocol != "postgresql" {
		// libpq 17+ drops such a connection: "direct SSL connection was established without
		// ALPN protocol negotiation extension".
		d.say("FAIL", name, "TLS with direct negotiation (sslnegotiation direct): the server did not select ALPN protocol \"postgresql\", without which libpq 17+ refuses the connection", noDirectFix)
		return false
	}
	d.say("ok", name, fmt.Sprintf("TLS %s verified (%s, sslnegotiation %s): certificate for %s issued by %s", tlsVersion(st.Version), conn.SSLMode, orDefault(conn.SSLNegotiation, "postgres"), st.PeerCertificates[0].Subject.CommonName, st.PeerCertificates[0].Issuer.CommonName), "")
	return true
}

const noDirectFix = "set sslnegotiation: postgres in the profile: this server takes TLS only after PostgreSQL's SSLRequest, as servers before PostgreSQL 17 do (Aurora DSQL takes direct)"

// certProblem reports whether a handshake failed on the server's certificate rather than on
// the way TLS was started.
func certProblem(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// directInPlainWords explains a failed direct handshake: a server before PostgreSQL 17 reads
// the ClientHello as a malformed startup packet and hangs up ("invalid length of startup
// packet" in its log).
func directInPlainWords(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		return "the server hung up on the TLS ClientHello: it does not take direct TLS"
	}
	return err.Error() + ": the server did not complete a direct TLS handshake"
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

func tlsVersion(v uint16) string {
	return map[uint16]string{tls.VersionTLS12: "1.2", tls.VersionTLS13: "1.3"}[v]
}

// tlsInPlainWords says what an x509 failure means for the person reading it.
func tlsInPlainWords(err error, host string) string {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		issuer := "an unknown issuer"
		if ua.Cert != nil {
			issuer = strconv.Quote(ua.Cert.Issuer.CommonName)
		}
		return fmt.Sprintf("the server's certificate is signed by %s, which the configured root does not trust (unknown authority)", issuer)
	case errors.As(err, &he):
		return fmt.Sprintf("the server's certificate is not for %s (wrong host name): %v", host, he)
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return fmt.Sprintf("the server's certificate has expired or is not yet valid: %v", ci)
	}
	return err.Error()
}

// libpqOnPath is what the libpq that the psql on PATH loads understands. psql --version
// names psql's own version, and libpq can be another: a newer libpq5 package from
// apt.postgresql.org, or LD_LIBRARY_PATH. So libpq itself is asked, offline: it rejects a
// keyword it does not know before connecting ("invalid connection option"), and libpq 16+
// refuses sslrootcert=system with sslmode=require before connecting too.
type libpqOnPath struct {
	found  bool
	psql   string // "psql 15.18", for messages
	direct bool   // libpq 17+: knows sslnegotiation
	system bool   // libpq 16+: reads sslrootcert=system as the OS trust store
}

// withoutPG is environ without any libpq variable (PG…, in any case, as Windows names are), so
// that doctor's psql runs see only what the profile sets.
func withoutPG(environ []string) []string {
	var env []string
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(strings.ToUpper(k), "PG") {
			env = append(env, kv)
		}
	}
	return env
}

func probeLibpq(e *Env) libpqOnPath {
	path, err := e.lookPath("psql")
	if err != nil {
		return libpqOnPath{}
	}
	env := withoutPG(e.Environ)
	psql := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), doctorPsqlTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.WaitDelay = time.Second // a child that keeps the pipe open must not hold doctor
		cmd.Env = env
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	// "psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)". Compiled here: only doctor asks, once.
	m := regexp.MustCompile(`\(PostgreSQL\) (\S+)`).FindStringSubmatch(psql("--version"))
	if m == nil {
		return libpqOnPath{}
	}
	// A socket in a directory that does not exist: a libpq that takes the options fails at
	// once, without the network.
	const nowhere = "host=/nonexistent/dsqlenv-doctor dbname=probe user=probe "
	lib := libpqOnPath{found: true, psql: "psql " + m[1]}
	lib.direct = !strings.Contains(psql("-X", "-w", nowhere+"sslnegotiation=postgres", "-c", ""), `invalid connection option "sslnegotiation"`)
	lib.system = lib.direct || strings.Contains(psql("-X", "-w", nowhere+"sslrootcert=system sslmode=require", "-c", ""), "weak sslmode")
	return lib
}

// psql runs `psql -Atc 'select 1'` with the profile's environment and reports what the
// server said.
func (d *doctor) psql(name string, s *session) {
	path, err := d.r.lookPath("psql")
	if err != nil {
		d.say("warn", name, "psql is not on PATH: skipped the login check", "")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), doctorPsqlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-X", "-At", "-c", "select 1")
	cmd.WaitDelay = time.Second // a child that keeps the pipe open must not hold doctor
	cmd.Env = childEnv(withoutPG(d.r.Environ), s.block(), d.r.GOOS == "windows")
	out, err := cmd.CombinedOutput()
	text := strings.TrimSpace(string(out))
	if err == nil && text == "1" {
		d.say("ok", name, "psql logged in and ran select 1", "")
		return
	}
	if ctx.Err() != nil {
		d.say("FAIL", name, fmt.Sprintf("psql: timed out after %s", doctorPsqlTimeout), "")
		return
	}
	fix := ""
	switch {
	case strings.Contains(text, "Signature expired"):
		fix = "the token was stale when it arrived: check the computer's clock (DSQL compares it with the token's X-Amz-Date)"
	case strings.Contains(text, "Wrong user to action mapping"):
		fix = "user admin needs a DbConnectAdmin token and other roles DbConnect: check user: in the profile and the role's AWS IAM GRANT"
	case strings.Contains(text, `root certificate file "system" does not exist`):
		fix = "this psql's libpq predates sslrootcert=system (libpq 16): leave sslrootcert out for the bundled Amazon roots (amazon)"
	}
	line, _, _ := strings.Cut(text, "\n")
	d.say("FAIL", name, "psql: "+line, fix)
}
