package cli

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
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
	for _, want := range []string{"ok    profiles file", "ok    healthy: credentials from the default credential chain (access key …MPLE); token for DbConnectAdmin lives 15m",
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
