package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// Issue 12: the default trust (the bundled Amazon roots, as a file path) works with every
// libpq, and the default TLS negotiation (direct) is taken by libpq 17+ and ignored by older
// libpq. The test servers' certificates chain to a test CA, never to Amazon's roots, so the
// default trust is tested through its effects: the path it hands out, the file behind it, and
// a certificate error (not a missing "system" file) from libpq 15.

const bundleFile = "AmazonRootCAs.pem"

func TestDefaultBlockPointsAtTheBundledAmazonRootsAndNegotiatesDirectly(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  p:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n")
	bundle := filepath.Join(xdgDir, "data", "dsqlenv", bundleFile)
	os.Remove(bundle)
	r := runApp(t, fixedMint, "-c", cfg, "bash", "p")
	// No sslnegotiation unless the file sets one: libpq's default, which every driver reads
	// alike; a PGSSLNEGOTIATION from an earlier profile is cleared.
	if r.code != 0 || !strings.Contains(r.stdout, "export PGSSLROOTCERT='"+bundle+"';\nexport PGPASSWORD=") ||
		!strings.Contains(r.stdout, "unset PGSERVICE PGHOSTADDR PGSSLNEGOTIATION ") {
		t.Fatalf("bash block: %+v", r)
	}
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	var sums []string
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			if len(bytes.TrimSpace(rest)) != 0 {
				t.Errorf("the bundle holds more than certificates: %q", rest)
			}
			break
		}
		sum := sha256.Sum256(b.Bytes)
		sums = append(sums, strings.ToUpper(hex.EncodeToString(sum[:])))
	}
	want := "8ECDE6884F3D87B1125BA31AC3FCB13D7016DE7F57CC904FE1CB97C6AE98196E 1BA5B2AA8C65401A82960118F80BEC4F62304D83CEC4713A19C39C011EA46DB4 " +
		"18CE6CFE7BF14E60B2E347B8DFE868CB31D02EBB3ADA271569F50343B46DB3A4 E35D28419ED02025CFA69038CD623962458DA5C695FBDEA3C22B0BFB25897092"
	if got := strings.Join(sums, " "); got != want {
		t.Errorf("the bundle's certificates: %s\nwant Amazon Root CA 1 to 4: %s", got, want)
	}
	if st, _ := os.Stat(bundle); st.Mode().Perm() != permHere(0o644) {
		t.Errorf("bundle mode %v", st.Mode().Perm())
	}

	// Every way out leaves it to the client; the shells clear one an earlier profile set.
	for dialect, line := range map[string]string{"fish": "if set -q -g PGSSLNEGOTIATION; set -e -g PGSSLNEGOTIATION; end",
		"powershell": "Remove-Item Env:PGSSLNEGOTIATION"} {
		if r := runApp(t, fixedMint, "-c", cfg, dialect, "p"); r.code != 0 || !strings.Contains(r.stdout, line) {
			t.Errorf("%s lacks %q:\n%s", dialect, line, r.stdout)
		}
	}
	for _, dialect := range []string{"env", "json", "dotenv", "url", "jdbc"} {
		if r := runApp(t, fixedMint, "-c", cfg, dialect, "p"); r.code != 0 || strings.Contains(strings.ToLower(r.stdout), "sslnegotiation") {
			t.Errorf("%s carries sslnegotiation by default:\n%s", dialect, r.stdout)
		}
	}
	if r := runApp(t, fixedMint, "bash", "--unset"); !strings.Contains(r.stdout, "PGSSLNEGOTIATION") {
		t.Errorf("--unset leaves PGSSLNEGOTIATION: %s", r.stdout)
	}
}

// trustServers are PostgreSQL 15, which takes TLS only after an SSLRequest, and 18, which also
// takes direct TLS. Both let any TLS client in as admin without a password (TrustTLS): these
// tests are about how TLS starts and what it trusts, against the real servers whose
// negotiation differs (the DSQL double takes both ways, as PostgreSQL 17+ does); the tests
// against the double (pg_test.go, url_test.go, clients_test.go) prove the tokens valid.
type trustServers struct {
	pg15, pg18 *testkit.Postgres
	proxy      *testkit.Proxy // forwards to pg18 and keeps each connection's first client bytes
	other      string         // a CA file that signed neither server
	cfg        string
}

func startTrustServers(t *testing.T) *trustServers {
	s := &trustServers{}
	s.pg15 = testkit.StartPostgresWith(t, testkit.Options{Version: 15, TrustTLS: true})
	s.pg18 = testkit.StartPostgresWith(t, testkit.Options{Version: 18, TrustTLS: true})
	for _, pg := range []*testkit.Postgres{s.pg15, s.pg18} {
		pg.SQL(t, "CREATE ROLE admin LOGIN")
	}
	s.proxy = testkit.DelayProxy(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(s.pg18.Port)), 0)
	_, proxyPort, _ := net.SplitHostPort(s.proxy.Addr)
	s.other = writeFile(t, t.TempDir(), "other-ca.pem", string(testkit.NewCA(t, "some other CA").CertPEM))
	s.cfg = writeFile(t, t.TempDir(), "profiles.yaml", fmt.Sprintf(`defaults:
  region: us-east-1
  connect_timeout: 10
profiles:
  pg18:
    endpoint: localhost
    port: %[1]d
    sslrootcert: %[2]s
  pg15:
    endpoint: localhost
    port: %[3]d
    sslrootcert: %[4]s
  pg15-direct:
    endpoint: localhost
    port: %[3]d
    sslrootcert: %[4]s
    sslnegotiation: direct
  pg15-postgres:
    endpoint: localhost
    port: %[3]d
    sslrootcert: %[4]s
    sslnegotiation: postgres
  pg18-direct:
    endpoint: localhost
    port: %[1]d
    sslrootcert: %[2]s
    sslnegotiation: direct
  pg18-otherca:
    endpoint: localhost
    port: %[1]d
    sslrootcert: %[5]s
  pg18-default:
    endpoint: localhost
    port: %[1]d
  pg18-system:
    endpoint: localhost
    port: %[1]d
    sslrootcert: system
  proxy:
    endpoint: localhost
    port: %[6]s
    sslrootcert: %[2]s
  proxy-postgres:
    endpoint: localhost
    port: %[6]s
    sslrootcert: %[2]s
    sslnegotiation: postgres
  proxy-direct:
    endpoint: localhost
    port: %[6]s
    sslrootcert: %[2]s
    sslnegotiation: direct
`, s.pg18.Port, s.pg18.CAFile, s.pg15.Port, s.pg15.CAFile, s.other, proxyPort))
	return s
}

// evalPsql evaluates the profile's block in a real shell, then runs psql through libpq 15 or
// 18 with nothing but what the block set, and prints "user|ssl|server major version".
func (s *trustServers) evalPsql(t *testing.T, shell, profile string, libpq int, extraEnv ...string) (string, error) {
	t.Helper()
	testkit.RequireTool(t, shell)
	psql, libEnv := testkit.PsqlWithLibpq(t, libpq)
	query := `"$PSQL" -X -At -F '|' -c "select current_user, ssl, current_setting('server_version_num')::int / 10000 from pg_stat_ssl where pid = pg_backend_pid()"`
	script := `eval "$("$BIN" ` + shell + ` ` + profile + `)" || exit 1; ` + query
	if shell == "fish" {
		script = `"$BIN" fish ` + profile + ` | source; or exit 1; ` + query
	}
	args := []string{"-c", script}
	if shell == "fish" {
		args = append([]string{"--no-config"}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, shell, args...)
	// LD_LIBRARY_PATH reaches dsqlenv too, which does not mind.
	cmd.Env = append(append(awsEnv(t, true, "DSQLENV_CONFIG="+s.cfg, "BIN="+binPath, "PSQL="+psql), libEnv...), extraEnv...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// doctor runs dsqlenv doctor on one profile with the psql on PATH loading libpq 15 or 18.
func (s *trustServers) doctor(t *testing.T, profile string, libpq int, extraEnv ...string) result {
	t.Helper()
	_, libEnv := testkit.PsqlWithLibpq(t, libpq)
	return runBin(t, append(append(awsEnv(t, true, "DSQLENV_CONFIG="+s.cfg), libEnv...), extraEnv...), "doctor", profile)
}

func TestTrustAndNegotiationWithLibpq15And18(t *testing.T) {
	s := startTrustServers(t)

	t.Run("the default negotiation connects with libpq 15 and 18 in bash, zsh and fish", func(t *testing.T) {
		for _, shell := range []string{"bash", "zsh", "fish"} {
			for _, libpq := range []int{15, 18} {
				if out, err := s.evalPsql(t, shell, "pg18", libpq); err != nil || out != "admin|t|18" {
					t.Errorf("%s, libpq %d, PostgreSQL 18: %v\n%s", shell, libpq, err, out)
				}
			}
		}
		// libpq 15 ignores PGSSLNEGOTIATION=direct, so the same block reaches a server that
		// knows nothing of direct TLS.
		if out, err := s.evalPsql(t, "bash", "pg15", 15); err != nil || out != "admin|t|15" {
			t.Errorf("libpq 15, PostgreSQL 15: %v\n%s", err, out)
		}
	})

	t.Run("a different CA is refused by libpq 15 and 18", func(t *testing.T) {
		for _, libpq := range []int{15, 18} {
			if out, err := s.evalPsql(t, "bash", "pg18-otherca", libpq); err == nil || !strings.Contains(out, "certificate verify failed") {
				t.Errorf("libpq %d: want a certificate failure, got %v\n%s", libpq, err, out)
			}
		}
	})

	t.Run("libpq 15 reads the default root file and verifies against it", func(t *testing.T) {
		// The test server's certificate does not chain to Amazon's roots, so verify-full
		// must fail on the certificate: proof that libpq opened the bundle, where
		// sslrootcert=system stopped libpq 15 before any TLS.
		for _, libpq := range []int{15, 18} {
			out, err := s.evalPsql(t, "bash", "pg18-default", libpq)
			if err == nil || !strings.Contains(out, "certificate verify failed") || strings.Contains(out, "does not exist") {
				t.Errorf("libpq %d with the default root: %v\n%s", libpq, err, out)
			}
		}
	})

	t.Run("sslrootcert system needs libpq 16 and doctor says so", func(t *testing.T) {
		// libpq 18 reads system as OpenSSL's default store, which SSL_CERT_FILE redirects.
		if out, err := s.evalPsql(t, "bash", "pg18-system", 18, "SSL_CERT_FILE="+s.pg18.CAFile); err != nil || out != "admin|t|18" {
			t.Errorf("libpq 18 with system: %v\n%s", err, out)
		}
		out, err := s.evalPsql(t, "bash", "pg18-system", 15, "SSL_CERT_FILE="+s.pg18.CAFile)
		if err == nil || !strings.Contains(out, `root certificate file "system" does not exist`) {
			t.Errorf("libpq 15 with system: %v\n%s", err, out)
		}
		r := s.doctor(t, "pg18-system", 15, "SSL_CERT_FILE="+s.pg18.CAFile)
		for _, want := range []string{
			`FAIL  pg18-system: sslrootcert system needs libpq 16 or newer: psql 15.`,
			`which reads "system" as a file name (root certificate file "system" does not exist)`,
			"fix: leave sslrootcert out (the default, amazon: the bundled Amazon roots, which every libpq reads), or install PostgreSQL 16+ client tools",
			"failed: root certificate file \"system\" does not exist\n      fix: this psql's libpq predates sslrootcert=system (libpq 16): leave sslrootcert out for the bundled Amazon roots (amazon)",
		} {
			if r.code != 1 || !strings.Contains(r.stdout, want) {
				t.Errorf("doctor with libpq 15 lacks %q: exit %d\n%s", want, r.code, r.stdout)
			}
		}
		r = s.doctor(t, "pg18-system", 18, "SSL_CERT_FILE="+s.pg18.CAFile)
		if !strings.Contains(r.stdout, "ok    pg18-system: the libpq of psql 15.") || !strings.Contains(r.stdout, " on PATH is 16 or newer: it reads sslrootcert=system as the OS trust store") ||
			!strings.Contains(r.stdout, "ok    pg18-system: psql logged in and ran select 1") {
			t.Errorf("doctor with libpq 18:\n%s", r.stdout)
		}
	})

	t.Run("the default block sends an SSLRequest, direct only when asked, proven by the first bytes", func(t *testing.T) {
		for _, c := range []struct {
			profile string
			libpq   int
			direct  bool
		}{{"proxy", 18, false}, {"proxy", 15, false}, {"proxy-postgres", 18, false}, {"proxy-direct", 18, true}, {"proxy-direct", 15, false}} {
			before := len(s.proxy.FirstClientBytes())
			if out, err := s.evalPsql(t, "bash", c.profile, c.libpq); err != nil || out != "admin|t|18" {
				t.Fatalf("%s with libpq %d through the proxy: %v\n%s", c.profile, c.libpq, err, out)
			}
			first := s.proxy.FirstClientBytes()[before:]
			// A TLS record of type handshake (0x16, version 0x03 0x0n), or an SSLRequest:
			// length 8, code 80877103 (protocol documentation, "SSLRequest").
			tlsRecord := len(first) == 1 && len(first[0]) > 2 && first[0][0] == 0x16 && first[0][1] == 0x03
			sslRequest := len(first) == 1 && bytes.Equal(first[0], []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f})
			if c.direct != tlsRecord || c.direct == sslRequest {
				t.Errorf("%s with libpq %d: first client bytes % x, want direct %v", c.profile, c.libpq, first, c.direct)
			}
		}
	})

	t.Run("direct against PostgreSQL 15 fails in doctor, which says to use postgres", func(t *testing.T) {
		r := s.doctor(t, "pg15-direct", 15)
		for _, want := range []string{
			"FAIL  pg15-direct: TLS with direct negotiation (sslnegotiation direct): the server hung up on the TLS ClientHello: it does not take direct TLS",
			"fix: set sslnegotiation: postgres in the profile: this server takes TLS only after PostgreSQL's SSLRequest, as servers before PostgreSQL 17 do",
		} {
			if r.code != 1 || !strings.Contains(r.stdout, want) {
				t.Errorf("doctor lacks %q: exit %d\n%s", want, r.code, r.stdout)
			}
		}
		// What a user of libpq 18 would meet without doctor.
		if out, err := s.evalPsql(t, "bash", "pg15-direct", 18); err == nil {
			t.Errorf("libpq 18 with direct reached PostgreSQL 15: %s", out)
		}
		if out, err := s.evalPsql(t, "bash", "pg15-postgres", 18); err != nil || out != "admin|t|15" {
			t.Errorf("libpq 18 with postgres, PostgreSQL 15: %v\n%s", err, out)
		}
		r = s.doctor(t, "pg15-postgres", 18)
		if r.code != 0 || !strings.Contains(r.stdout, "TLS 1.3 verified (verify-full, sslnegotiation postgres)") ||
			!strings.Contains(r.stdout, " on PATH sends an SSLRequest first") {
			t.Errorf("doctor with postgres: exit %d\n%s", r.code, r.stdout)
		}
	})

	t.Run("doctor reports the negotiation each libpq uses", func(t *testing.T) {
		r := s.doctor(t, "pg18", 18)
		// libpq 18 and no sslnegotiation: direct is offered as an option, with its caveat.
		if r.code != 0 || !strings.Contains(r.stdout, "ok    pg18: sslnegotiation postgres, libpq's default: the libpq of psql ") ||
			!strings.Contains(r.stdout, "note  pg18: this libpq is 17 or newer: sslnegotiation: direct in the profile would save one round trip per connection") ||
			!strings.Contains(r.stdout, "lib/pq 1.12.3 and older then fail (no ALPN, lib/pq#1331)") ||
			!strings.Contains(r.stdout, "ok    pg18: TLS 1.3 verified (verify-full, sslnegotiation postgres)") {
			t.Errorf("doctor with libpq 18: exit %d\n%s", r.code, r.stdout)
		}
		r = s.doctor(t, "pg18-direct", 18)
		if r.code != 0 || !strings.Contains(r.stdout, " on PATH is 17 or newer and sends the TLS ClientHello at once (one round trip less)") ||
			!strings.Contains(r.stdout, "ok    pg18-direct: TLS 1.3 verified (verify-full, sslnegotiation direct)") || strings.Contains(r.stdout, "note  ") {
			t.Errorf("doctor with libpq 18 and direct: exit %d\n%s", r.code, r.stdout)
		}
		r = s.doctor(t, "pg18", 15)
		if r.code != 0 || !strings.Contains(r.stdout, "ok    pg18: sslnegotiation unset: the libpq of psql 15.") ||
			!strings.Contains(r.stdout, " on PATH is older than 17 and sends an SSLRequest first") || strings.Contains(r.stdout, "warn") || strings.Contains(r.stdout, "note  ") {
			t.Errorf("doctor with libpq 15: exit %d\n%s", r.code, r.stdout)
		}
		r = s.doctor(t, "pg18-direct", 15)
		if !strings.Contains(r.stdout, "warn  pg18-direct: sslnegotiation is set in the profiles file, so dsqlenv service and url write it, and libpq before 17 rejects them") {
			t.Errorf("doctor with an explicit sslnegotiation and libpq 15:\n%s", r.stdout)
		}
	})

	t.Run("service files carry sslnegotiation only when the profile sets it", func(t *testing.T) {
		svc := filepath.Join(t.TempDir(), "pg_service.conf")
		env := awsEnv(t, true, "DSQLENV_CONFIG="+s.cfg)
		if r := runBin(t, env, "service", "--file", svc, "pg18", "pg18-direct"); r.code != 0 {
			t.Fatalf("service: %+v", r)
		}
		data, _ := os.ReadFile(svc)
		implicit, explicit, _ := strings.Cut(string(data), "[pg18-direct]")
		if strings.Contains(implicit, "sslnegotiation") || !strings.Contains(explicit, "\nsslnegotiation=direct\n") {
			t.Fatalf("service file:\n%s", data)
		}
		psqlService := func(libpq int, name string) (string, error) {
			psql, libEnv := testkit.PsqlWithLibpq(t, libpq)
			cmd := exec.Command(psql, "-X", "-At", "-F", "|", "service="+name, "-c", "select current_user, ssl, current_setting('server_version_num')::int / 10000 from pg_stat_ssl where pid = pg_backend_pid()")
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "PGSERVICEFILE=" + svc}, libEnv...)
			out, err := cmd.CombinedOutput()
			return strings.TrimSpace(string(out)), err
		}
		if out, err := psqlService(15, "pg18"); err != nil || out != "admin|t|18" {
			t.Errorf("psql 15, service without sslnegotiation: %v\n%s", err, out)
		}
		if out, err := psqlService(18, "pg18-direct"); err != nil || out != "admin|t|18" {
			t.Errorf("libpq 18, service with sslnegotiation: %v\n%s", err, out)
		}
		// The reason for the rule: libpq 15 rejects the keyword in a service file.
		if out, err := psqlService(15, "pg18-direct"); err == nil || !strings.Contains(out, "syntax error in service file") {
			t.Errorf("psql 15, service with sslnegotiation: %v\n%s", err, out)
		}
	})
}
