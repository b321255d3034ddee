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
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

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
(and, for sslrootcert: system, the OS trust store and libpq 16+), DNS, a TCP
connection, PostgreSQL's SSLRequest and a TLS handshake verified like verify-full,
and, when psql is on PATH, psql -c 'select 1' with the profile's settings.
One line per check: ok, warn or FAIL, with the fix. Exit status 1 when any check fails.

Examples:
   dsqlenv doctor
   dsqlenv doctor prod`,
		Flags: tokenFlags(),
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

	roots := d.rootCheck(name, s)
	if !d.network(name, conn, roots) {
		return
	}
	if minted {
		d.psql(name, s)
	}
}

// rootCheck checks the configured root and returns the pool to verify the server with.
func (d *doctor) rootCheck(name string, s *session) *x509.CertPool {
	conn := s.conn
	switch conn.SSLRootCert {
	case profiles.RootSystem:
		pool, err := x509.SystemCertPool()
		amazon, aerr := amazonRoot()
		switch {
		case err != nil || aerr != nil:
			d.say("warn", name, fmt.Sprintf("cannot read the OS trust store: %v", errors.Join(err, aerr)), "use sslrootcert: amazon")
		default:
			if _, err := amazon.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
				d.say("FAIL", name, "sslrootcert system: the OS trust store does not hold Amazon Root CA 1", "use sslrootcert: amazon, or install the ca-certificates package")
			} else {
				d.say("ok", name, "sslrootcert system: the OS trust store holds Amazon Root CA 1", "")
			}
		}
		if major, version, ok := libpqMajor(); ok && major < 16 {
			d.say("warn", name, fmt.Sprintf("sslrootcert=system needs libpq 16 or newer; the psql on PATH is %s, which reads \"system\" as a file name", version), "use sslrootcert: amazon (the bundled Amazon Root CA 1), or install PostgreSQL 16+ client tools")
		} else if ok {
			d.say("ok", name, "libpq on PATH understands sslrootcert=system ("+version+")", "")
		}
		return pool
	case profiles.RootAmazon:
		// psql, run below, needs the file now.
		if err := d.r.flush(); err != nil {
			d.say("FAIL", name, "sslrootcert amazon: "+err.Error(), "")
			return nil
		}
		amazon, _ := amazonRoot()
		pool := x509.NewCertPool()
		pool.AddCert(amazon)
		d.say("ok", name, "sslrootcert amazon: the bundled Amazon Root CA 1 at "+s.rootCert, "")
		return pool
	}
	data, err := os.ReadFile(conn.SSLRootCert)
	if err != nil {
		d.say("FAIL", name, "sslrootcert: "+err.Error(), "give the path of a PEM file, or sslrootcert: amazon")
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		d.say("FAIL", name, "sslrootcert "+conn.SSLRootCert+" holds no PEM certificate", "give a PEM file with the CA certificate, or sslrootcert: amazon")
		return nil
	}
	d.say("ok", name, "sslrootcert "+conn.SSLRootCert+" holds a certificate", "")
	return pool
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
	// PostgreSQL's SSLRequest: length 8, code 80877103; the server answers 'S' or 'N'.
	req := make([]byte, 8)
	binary.BigEndian.PutUint32(req[0:], 8)
	binary.BigEndian.PutUint32(req[4:], 80877103)
	ans := make([]byte, 1)
	if _, err := raw.Write(req); err == nil {
		_, err = io.ReadFull(raw, ans)
	}
	if err != nil || ans[0] != 'S' {
		d.say("FAIL", name, fmt.Sprintf("PostgreSQL SSLRequest: the server did not accept TLS (%v)", errOr(err, "answered "+strconv.Quote(string(ans)))), "is this a PostgreSQL endpoint with TLS?")
		return false
	}
	if roots == nil {
		return false
	}
	cfg := &tls.Config{ServerName: conn.Host, RootCAs: roots, MinVersion: tls.VersionTLS12}
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
		d.say("FAIL", name, "TLS: "+tlsInPlainWords(err, conn.Host), "point sslrootcert at the CA that signs the server's certificate (DSQL: sslrootcert: amazon)")
		return false
	}
	st := tc.ConnectionState()
	d.say("ok", name, fmt.Sprintf("TLS %s verified (%s): certificate for %s issued by %s", tlsVersion(st.Version), conn.SSLMode, st.PeerCertificates[0].Subject.CommonName, st.PeerCertificates[0].Issuer.CommonName), "")
	return true
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

// libpqMajor reads the major version of the psql (and so libpq) on PATH.
func libpqMajor() (int, string, bool) {
	out, err := exec.Command("psql", "--version").Output()
	if err != nil {
		return 0, "", false
	}
	// Compiled here, not at start-up: only doctor asks, once.
	m := regexp.MustCompile(`\(PostgreSQL\) (\d+)(\.\d+)*`).FindStringSubmatch(string(out))
	if m == nil {
		return 0, "", false
	}
	major, _ := strconv.Atoi(m[1])
	return major, strings.TrimSpace(strings.TrimPrefix(m[0], "(PostgreSQL) ")), true
}

// psql runs `psql -Atc 'select 1'` with the profile's environment and reports what the
// server said.
func (d *doctor) psql(name string, s *session) {
	path, err := exec.LookPath("psql")
	if err != nil {
		d.say("warn", name, "psql is not on PATH: skipped the login check", "")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), doctorPsqlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-X", "-At", "-c", "select 1")
	env := []string{}
	for _, kv := range d.r.Environ {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "PG") {
			env = append(env, kv)
		}
	}
	cmd.Env = childEnv(env, s.block(), d.r.GOOS == "windows")
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
		fix = "this psql predates sslrootcert=system (libpq 16): use sslrootcert: amazon"
	}
	line, _, _ := strings.Cut(text, "\n")
	d.say("FAIL", name, "psql: "+line, fix)
}
