package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/internal/roots"
	"github.com/dsqlenv/dsqlenv/internal/safefile"
	"github.com/dsqlenv/dsqlenv/internal/text"
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

// doctorOptions are what `dsqlenv doctor` is told on its command line.
type doctorOptions struct {
	global
	names []string // none: every profile
}

func newDoctorCommand(r *run) *cli.Command {
	var o doctorOptions
	return &cli.Command{
		Name:      "doctor",
		Category:  "Commands",
		Usage:     "check everything between a profile and a working connection",
		ArgsUsage: "[PROFILE...]",
		Description: `Checks, for each named profile (all when none is named): the profiles file, the
endpoint and region, AWS credentials, a minted token and the identity that signs it
(STS GetCallerIdentity: the ARN and account), the root certificate
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
			var err error
			if o.names, err = args(c, "PROFILE", 0, -1); err != nil {
				return err
			}
			o.global = r.globals()
			return runDoctor(c.Context, r, o)
		},
	}
}

// doctor streams its report, a line per check as it goes: it is for a person watching, and
// checks can take seconds each.
type doctor struct {
	r      *run
	ctx    context.Context
	g      global
	failed bool
	lib    *libpqOnPath // probed once, at the first profile
}

// check is one finding of doctor's: ok, warn or FAIL, about a profile ("" for the file), and
// what to do about it.
type check struct{ status, profile, msg, fix string }

// checks are what a probe found, in order.
type checks []check

func (cs *checks) add(status, profile, msg, fix string) {
	*cs = append(*cs, check{status, profile, msg, fix})
}

// fail adds a failed check whose error may already end in the fix (": run …"): that part goes
// on the fix line, and fix, what to do in general, only when the error names none.
func (cs *checks) fail(profile, msg, fix string) {
	if what, own := splitFix(msg); own != "" {
		msg, fix = what, own
	}
	cs.add("FAIL", profile, msg, fix)
}

// report prints a probe's checks as soon as it returns (a person watches them come), each on
// one line, its fix on the next.
func (d *doctor) report(cs []check) {
	for _, c := range cs {
		if c.status == "FAIL" {
			d.failed = true
		}
		prefix := ""
		if c.profile != "" {
			prefix = c.profile + ": "
		}
		fmt.Fprintf(&d.r.out, "%-4s  %s%s\n", c.status, termSafe(prefix), termSafe(c.msg))
		if c.fix != "" {
			fmt.Fprintf(&d.r.out, "      fix: %s\n", termSafe(c.fix))
		}
	}
}

func runDoctor(ctx context.Context, r *run, o doctorOptions) error {
	r.out.stream(r.Stdout)
	d := &doctor{r: r, ctx: ctx, g: o.global}
	names := o.names
	path := o.config
	f, err := profiles.Load(path)
	if err != nil {
		d.report([]check{{"FAIL", "", "profiles file: " + err.Error(), "fix the file, or run dsqlenv init"}})
		return &silentError{exitError}
	}
	var top checks
	top.add("ok", "", fmt.Sprintf("profiles file %s parses (%d %s)", path, len(f.Profiles), plural(len(f.Profiles), "profile")), "")
	// A PGPASSWORD that a dsqlenv block set (DSQLENV_PROFILE says one ran) is the main flow
	// working: it shadows something only when a password file is in use.
	_, passErr := os.Stat(r.passFilePath())
	if r.Getenv("PGPASSWORD") != "" && (r.Getenv("DSQLENV_PROFILE") == "" || passErr == nil) {
		// libpq reads a password file only when no password was given (fe-connect.c,
		// pqConnectOptions2), and pgx does the same.
		top.add("warn", "", "PGPASSWORD is set in this environment: libpq and pgx use it before any password file (passfile=, PGPASSFILE), so tokens written by dsqlenv pgpass are ignored",
			"unset PGPASSWORD (fish: set -e PGPASSWORD; PowerShell: Remove-Item Env:PGPASSWORD) where you use service files or pgpass")
	}
	d.report(top)
	if len(names) == 0 {
		names = f.Names()
	}
	for _, name := range names {
		d.profile(f, name)
	}
	if d.failed {
		r.takeBack() // the roots file its psql check needed, if doctor made it
		return &silentError{exitError}
	}
	return nil
}

// identityTimeout bounds doctor's question to STS.
const identityTimeout = 10 * time.Second

// identity says which AWS identity signs the profile's tokens (STS GetCallerIdentity): the
// account and ARN that DSQL's IAM policy must allow.
func (d *doctor) identity(name string, conn *profiles.Connection) []check {
	var out checks
	if d.r.Identity == nil {
		return out
	}
	ctx, cancel := context.WithTimeout(d.ctx, identityTimeout)
	defer cancel()
	arn, account, err := d.r.Identity(ctx, conn)
	if err != nil {
		out.add("warn", name, "AWS identity: "+err.Error(), "check your network or VPN: tokens are signed without the network, but DSQL checks them against this identity's IAM policy")
		return out
	}
	out.add("ok", name, fmt.Sprintf("tokens are signed as %s (account %s): its IAM policy must allow dsql:DbConnect or dsql:DbConnectAdmin on the cluster", arn, account), "")
	return out
}

func (d *doctor) profile(f *profiles.File, name string) {
	s, cs := d.settings(f, name)
	d.report(cs)
	if s == nil {
		return
	}
	minted, cs := d.credentials(name, s)
	d.report(cs)
	if minted {
		d.report(d.identity(name, s.conn))
	}
	if d.lib == nil {
		lib := probeLibpq(d.r.Env)
		d.lib = &lib
	}
	roots, cs := d.rootCheck(name, s, *d.lib)
	d.report(cs)
	d.report(d.negotiation(name, s.conn, *d.lib))
	reached, cs := d.network(name, s.conn, roots)
	d.report(cs)
	if reached && minted {
		d.report(d.psql(name, s))
	}
}

// settings resolves the profile: nil and the failure when it does not.
func (d *doctor) settings(f *profiles.File, name string) (*session, []check) {
	var out checks
	s, err := d.r.sessionOf(f, name, clientsOf(d.r.GOOS == "windows"))
	switch {
	case err != nil && !slices.Contains(f.Names(), name):
		out.fail(name, err.Error(), "name a profile of "+f.Path+" (dsqlenv list shows them), or add one (dsqlenv add "+name+" --cluster …)")
		return nil, out
	case err != nil:
		out.fail(name, err.Error(), "fix profile "+name+" in "+f.Path+" (dsqlenv show "+name+" shows what it resolves to)")
		return nil, out
	}
	conn := s.conn
	region := conn.Region
	if region == "" {
		region = "(from the AWS SDK)"
	}
	out.add("ok", name, fmt.Sprintf("endpoint %s, port %d, region %s", conn.Host, conn.Port, region), "")
	if conn.Unverified {
		out.add("warn", name, strings.TrimPrefix(conn.UnverifiedWarning(), "profile "+name+": "), "")
	}
	return s, out
}

// credentials gets AWS credentials and signs the session's token.
func (d *doctor) credentials(name string, s *session) (minted bool, _ []check) {
	var out checks
	conn := s.conn
	if err := d.r.sign(d.ctx, d.g, s); err != nil {
		out.fail(name, "AWS credentials: "+err.Error(), "dsqlenv show "+name+" says which AWS profile signs; aws sts get-caller-identity with it shows what the AWS CLI gets")
		return false, out
	}
	key := s.info.AccessKey
	if len(key) > 4 {
		key = "…" + key[len(key)-4:]
	}
	from := credentialSource(conn)
	if o := d.r.credentialOrigin(conn); o != "" {
		from += ", " + o
	}
	out.add("ok", name, fmt.Sprintf("credentials from %s (access key %s); token for %s lives %s", from, key, s.info.Action, text.FormatDuration(s.info.Lifetime)), "")
	if s.shortLived() {
		out.add("warn", name, fmt.Sprintf("the token lives %s, not %s: the credentials expire first", text.FormatDuration(s.info.Lifetime), text.FormatDuration(conn.ExpiresIn)), "refresh the AWS session (aws sso login) or lower expires_in")
	}
	return true, out
}

// rootCheck checks the configured root and returns the pool to verify the server with.
func (d *doctor) rootCheck(name string, s *session, lib libpqOnPath) (*x509.CertPool, []check) {
	var out checks
	conn := s.conn
	switch conn.SSLRootCert {
	case profiles.RootSystem:
		pool, err := x509.SystemCertPool()
		amazon, aerr := roots.Certificates()
		switch {
		case err != nil || aerr != nil:
			out.add("warn", name, fmt.Sprintf("cannot read the OS trust store: %v", errors.Join(err, aerr)), "leave sslrootcert out: the default, amazon, is the bundled Amazon roots")
		default:
			if _, err := amazon[0].Verify(x509.VerifyOptions{Roots: pool}); err != nil {
				out.add("FAIL", name, "sslrootcert system: the OS trust store does not hold Amazon Root CA 1, the root of DSQL's certificates", "leave sslrootcert out (the bundled Amazon roots), or install the ca-certificates package")
			} else {
				out.add("ok", name, "sslrootcert system: the OS trust store holds Amazon Root CA 1", "")
			}
		}
		switch {
		case !lib.found:
		case !lib.system:
			// libpq 15 and older take "system" as a file name in the working directory.
			out.add("FAIL", name, fmt.Sprintf("sslrootcert system needs libpq 16 or newer: %s on PATH loads an older libpq, which reads \"system\" as a file name (root certificate file \"system\" does not exist)", lib.psql),
				"leave sslrootcert out (the default, amazon: the bundled Amazon roots, which every libpq reads), or install PostgreSQL 16+ client tools")
		default:
			out.add("ok", name, fmt.Sprintf("the libpq of %s on PATH is 16 or newer: it reads sslrootcert=system as the OS trust store", lib.psql), "")
		}
		return pool, out
	case profiles.RootAmazon:
		// psql, run below, needs the file now.
		d.r.stageRoots(s)
		if err := d.r.flush(); err != nil {
			out.fail(name, "sslrootcert amazon: "+err.Error(), "make "+filepath.Dir(s.rootCert)+" a directory of your own that you can write, or give sslrootcert: a PEM file of Amazon's roots")
			return nil, out
		}
		pool, err := roots.Pool()
		if err != nil {
			out.fail(name, "sslrootcert amazon: "+err.Error(), "reinstall dsqlenv: its bundled roots are damaged")
			return nil, out
		}
		out.add("ok", name, "sslrootcert amazon: the bundled Amazon Root CA 1 to 4 at "+s.rootCert, "")
		return pool, out
	}
	data, _, err := safefile.Read(conn.SSLRootCert, maxRootCertFile)
	if err != nil {
		out.add("FAIL", name, "sslrootcert: "+err.Error(), "give the path of a PEM file, or leave sslrootcert out for the bundled Amazon roots")
		return nil, out
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		out.add("FAIL", name, "sslrootcert "+conn.SSLRootCert+" holds no PEM certificate", "give a PEM file with the CA certificate, or leave sslrootcert out for the bundled Amazon roots")
		return nil, out
	}
	out.add("ok", name, "sslrootcert "+conn.SSLRootCert+" holds a certificate", "")
	return pool, out
}
