package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// TestDoctorAgainstARealServer runs doctor against the DSQL double in front of PostgreSQL 18:
// its psql step logging in is proof that the token doctor minted is valid. The server's own
// refusal (no such role) and the double's (the token has expired by its clock) are reported.
func TestDoctorAgainstARealServer(t *testing.T) {
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18})
	pg.SQL(t, "CREATE ROLE admin LOGIN")
	d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{Host: "localhost"})
	other := testkit.NewCA(t, "some other CA")
	dir := t.TempDir()
	otherFile := writeFile(t, dir, "other.pem", string(other.CertPEM))
	cfg := writeFile(t, dir, "p.yaml", fmt.Sprintf(`defaults:
  region: us-east-1
  port: %d
  sslrootcert: %s
profiles:
  healthy:
    endpoint: localhost
  closed:
    endpoint: localhost
    port: %d
  wrongca:
    endpoint: localhost
    sslrootcert: %s
`, d.Port, d.CAFile, testkit.FreePort(t), otherFile))
	env := awsEnv(t, true, "DSQLENV_CONFIG="+cfg)

	before := d.Stats()
	r := runBin(t, env, "doctor", "healthy")
	if !strings.Contains(r.stdout, "healthy: psql") {
		t.Errorf("no psql line in\n%s", r.stdout)
	}
	if r.code != 0 || strings.Contains(r.stdout, "FAIL") {
		t.Fatalf("healthy: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"ok    profiles file", "ok    healthy: credentials from the default AWS credential chain (access key …MPLE); token for DbConnectAdmin lives 15m",
		"ok    healthy: TCP connect to localhost:", "ok    healthy: TLS 1.3 verified (verify-full, sslnegotiation postgres): certificate for localhost issued by dsqlenv DSQL double CA",
		"ok    healthy: psql logged in and ran select 1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("healthy: no line %q in\n%s", want, r.stdout)
		}
	}
	if s := d.Stats(); s.Accepted != before.Accepted+1 {
		t.Errorf("healthy: the double accepted %d sessions, want 1 (last refusal %q)", s.Accepted-before.Accepted, s.LastRefusal)
	}

	pg.SQL(t, "DROP ROLE admin")
	r = runBin(t, env, "doctor", "healthy")
	if r.code != 1 || !strings.Contains(r.stdout, `FAIL  healthy: psql: psql: error: connection to server at "localhost" (127.0.0.1), port`) ||
		!strings.Contains(r.stdout, `role "admin" does not exist`) {
		t.Errorf("server's refusal not reported: exit %d\n%s", r.code, r.stdout)
	}
	pg.SQL(t, "CREATE ROLE admin LOGIN")

	r = runBin(t, env, "doctor", "closed")
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL  closed: TCP connect to localhost:") || !strings.Contains(r.stdout, "connection refused") {
		t.Errorf("closed port: exit %d\n%s", r.code, r.stdout)
	}

	r = runBin(t, env, "doctor", "wrongca")
	if r.code != 1 || !strings.Contains(r.stdout, `FAIL  wrongca: TLS: the server's certificate is signed by "dsqlenv DSQL double CA", which the configured root does not trust (unknown authority)`) {
		t.Errorf("wrong CA: exit %d\n%s", r.code, r.stdout)
	}

	// Last, since the double's clock stays moved: a token minted now is 16 minutes old by it.
	d.Advance(16 * time.Minute)
	r = runBin(t, env, "doctor", "healthy")
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL  healthy: psql: ") || !strings.Contains(r.stdout, "access denied") ||
		!strings.Contains(r.stdout, "fix: the token was stale when it arrived: check the computer's clock") {
		t.Errorf("a token the double holds expired: exit %d\n%s", r.code, r.stdout)
	}
	if s := d.Stats(); !strings.HasPrefix(s.LastRefusal, "signature expired") {
		t.Errorf("the double's last refusal %q, want an expired signature", s.LastRefusal)
	}
}

func TestDoctorReadsAnExpiredOrMisnamedCertificate(t *testing.T) {
	// PostgreSQL itself, not the DSQL double: the test swaps the server's certificate
	// (ReplaceCert), and every case fails in the TLS handshake, before a token is sent.
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18, TrustTLS: true})
	ca := testkit.NewCA(t, "ca")
	caFile := writeFile(t, t.TempDir(), "ca.pem", string(ca.CertPEM))
	cfg := writeFile(t, t.TempDir(), "p.yaml", fmt.Sprintf("profiles:\n  p:\n    endpoint: localhost\n    region: us-east-1\n    port: %d\n    sslrootcert: %s\n", pg.Port, caFile))
	env := awsEnv(t, true, "DSQLENV_CONFIG="+cfg)

	crt, key := ca.Issue(t, []string{"elsewhere.example"}, nil, time.Now().Add(time.Hour))
	pg.ReplaceCert(t, crt, key)
	if r := runBin(t, env, "doctor", "p"); r.code != 1 || !strings.Contains(r.stdout, "is not for localhost (wrong host name)") {
		t.Errorf("wrong host: %s", r.stdout)
	}
	crt, key = ca.Issue(t, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}, time.Now().Add(-time.Hour))
	pg.ReplaceCert(t, crt, key)
	if r := runBin(t, env, "doctor", "p"); r.code != 1 || !strings.Contains(r.stdout, "has expired or is not yet valid") {
		t.Errorf("expired: %s", r.stdout)
	}
}

// TestDoctorNamesTheAWSIdentity: doctor asks STS who signs (GetCallerIdentity, signed with the
// profile's credentials; awsEnv points STS at the tests' fake, fakeSTS) and says the ARN and
// account; when STS cannot be reached it warns and goes on.
func TestDoctorNamesTheAWSIdentity(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", fmt.Sprintf("profiles:\n  p:\n    endpoint: localhost\n    region: us-east-1\n    port: %d\n", testkit.FreePort(t)))
	r := runBin(t, awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "PATH=/nonexistent"), "doctor", "p")
	want := "ok    p: tokens are signed as arn:aws:iam::123456789012:user/dev (account 123456789012): its IAM policy must allow dsql:DbConnect or dsql:DbConnectAdmin on the cluster"
	if !strings.Contains(r.stdout, want) {
		t.Errorf("doctor lacks %q:\n%s", want, r.stdout)
	}
	if a := stsAuth.Load(); a == nil || !strings.Contains(*a, "Credential=AKIAIOSFODNN7EXAMPLE/") || !strings.Contains(*a, "/us-east-1/sts/aws4_request") {
		t.Errorf("the STS request was not signed with the profile's credentials for us-east-1: %v", a)
	}
	r = runBin(t, awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "PATH=/nonexistent", "AWS_ENDPOINT_URL_STS=http://127.0.0.1:1"), "doctor", "p")
	if !strings.Contains(r.stdout, "warn  p: AWS identity: STS GetCallerIdentity") || !strings.Contains(r.stdout, "check your network or VPN") {
		t.Errorf("doctor with STS out of reach:\n%s", r.stdout)
	}
}

// TestDoctorGivesAFixForEveryFailureAndWarnsOnce: every FAIL line is followed by a fix line
// (taken from the end of the error when it names one), and a token the credentials cut short
// is reported once, as doctor's own warning, not also as mint's line on stderr.
func TestDoctorGivesAFixForEveryFailureAndWarnsOnce(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", fmt.Sprintf(`defaults:
  region: us-east-1
  port: %d
  expires_in: 1h
profiles:
  short:
    endpoint: localhost
  nocreds:
    endpoint: localhost
  badca:
    endpoint: localhost
    sslrootcert: /nonexistent/ca.pem
  badregion:
    endpoint: localhost
    region: us-east1
`, testkit.FreePort(t)))
	mint := func(_ context.Context, c *profiles.Connection) (string, error) {
		if c.Profile == "nocreds" {
			return "", errors.New("profile nocreds: not logged in to SSO for AWS profile work (from AWS_PROFILE): run `aws sso login --profile work`")
		}
		c2 := *c
		c2.ExpiresIn = 4*time.Minute + 12*time.Second
		return fixedToken(&c2), nil
	}
	e := testEnv(mint, "PATH=/nonexistent")
	e.Paths.DataHome = t.TempDir() // the tests' shared one may hold the roots already
	r := runEnv(t, e, "-c", cfg, "doctor")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(r.stdout, "\n")
	fails := 0
	for i, l := range lines {
		if !strings.HasPrefix(l, "FAIL") {
			continue
		}
		fails++
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "      fix: ") {
			t.Errorf("FAIL without a fix line: %q", l)
		}
	}
	if fails < 4 {
		t.Errorf("%d FAIL lines, want one each for nocreds, badca, badregion and the closed port at least:\n%s", fails, r.stdout)
	}
	if !strings.Contains(r.stdout, "FAIL  nocreds: AWS credentials: profile nocreds: not logged in to SSO for AWS profile work (from AWS_PROFILE)\n      fix: run `aws sso login --profile work`\n") {
		t.Errorf("the credentials error's own fix is not on the fix line:\n%s", r.stdout)
	}
	if n := strings.Count(r.stdout, "short: the token lives 4m12s, not 1h"); n != 1 {
		t.Errorf("the short token is reported %d times in stdout, want once:\n%s", n, r.stdout)
	}
	if strings.Contains(r.stderr, "token expires in") {
		t.Errorf("doctor also printed mint's warning on stderr: %q", r.stderr)
	}
	// Its psql check needed the bundled roots written (sslrootcert amazon, "ok" above); the
	// run failed, so they are taken back.
	if !strings.Contains(r.stdout, "ok    short: sslrootcert amazon: the bundled Amazon Root CA 1 to 4 at ") {
		t.Errorf("the roots were not checked:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(e.Paths.DataHome, "dsqlenv", "AmazonRootCAs.pem")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed doctor left the roots file behind: %v", err)
	}
}

// TestDoctorEscapesAServersCertificateNames: whoever answers at the endpoint chooses the
// names in its certificate; doctor shows them escaped.
func TestDoctorEscapesAServersCertificateNames(t *testing.T) {
	// PostgreSQL itself, not the DSQL double: the test swaps the server's certificate, and
	// doctor stops at the TLS step, before a token is sent.
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18, TrustTLS: true}) // takes direct TLS, the default
	trusted := testkit.NewCA(t, "trusted")
	caFile := writeFile(t, t.TempDir(), "ca.pem", string(trusted.CertPEM))
	cfg := writeFile(t, t.TempDir(), "p.yaml", fmt.Sprintf("profiles:\n  p:\n    endpoint: localhost\n    region: us-east-1\n    port: %d\n    sslrootcert: %s\n", pg.Port, caFile))
	env := awsEnv(t, true, "DSQLENV_CONFIG="+cfg)
	evil := testkit.NewCA(t, "evil\x1b]0;pwned\a\x1b[2J")
	crt, key := evil.Issue(t, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}, time.Now().Add(time.Hour))
	pg.ReplaceCert(t, crt, key)
	r := runBin(t, env, "doctor", "p")
	if r.code != 1 || strings.ContainsAny(r.stdout+r.stderr, "\x1b\a") || !strings.Contains(r.stdout, `evil\x1b]0;pwned`) {
		t.Errorf("doctor with a hostile issuer name: exit %d\n%q", r.code, r.stdout)
	}
	crt, key = trusted.Issue(t, []string{"x\x1b[2J.example"}, nil, time.Now().Add(time.Hour))
	pg.ReplaceCert(t, crt, key)
	r = runBin(t, env, "doctor", "p")
	if r.code != 1 || strings.ContainsAny(r.stdout+r.stderr, "\x1b\a") || !strings.Contains(r.stdout, "wrong host name") {
		t.Errorf("doctor with a hostile host name: exit %d\n%q", r.code, r.stdout)
	}
}

// A server that completes a direct TLS handshake without selecting ALPN "postgresql" is one
// libpq 17+ hangs up on ("direct SSL connection was established without ALPN protocol
// negotiation extension"), so doctor fails it.
func TestDoctorRefusesDirectTLSWithoutALPN(t *testing.T) {
	ca := testkit.NewCA(t, "alpn test CA")
	certPEM, keyPEM := ca.Issue(t, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}, time.Now().Add(time.Hour))
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, alpn := range []string{"", "postgresql"} {
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
		if alpn != "" {
			cfg.NextProtos = []string{alpn}
		}
		ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
		if err != nil {
			t.Fatal(err)
		}
		testkit.Serve(t, ln, func(c net.Conn) { c.(*tls.Conn).Handshake(); c.Close() })
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		caFile := writeFile(t, t.TempDir(), "ca.pem", string(ca.CertPEM))
		profilesFile := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  p:\n    endpoint: localhost\n    region: us-east-1\n    port: "+port+"\n    sslrootcert: "+caFile+"\n    sslnegotiation: direct\n")
		r := runBin(t, awsEnv(t, true, "DSQLENV_CONFIG="+profilesFile, "PATH=/nonexistent"), "doctor", "p")
		noALPN := `FAIL  p: TLS with direct negotiation (sslnegotiation direct): the server did not select ALPN protocol "postgresql", without which libpq 17+ refuses the connection`
		if alpn == "" && (r.code != 1 || !strings.Contains(r.stdout, noALPN)) {
			t.Errorf("without ALPN: exit %d\n%s", r.code, r.stdout)
		}
		if alpn != "" && !strings.Contains(r.stdout, "ok    p: TLS 1.3 verified (verify-full, sslnegotiation direct)") {
			t.Errorf("with ALPN postgresql: exit %d\n%s", r.code, r.stdout)
		}
	}
}
