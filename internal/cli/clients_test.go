package cli

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq" // test-only: the lib/pq client test below

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// Real drivers against the DSQL double (testkit.StartDSQL), fed what a user would feed them:
// the environment a bash block leaves, the URL, a service file. The double checks every
// token as DSQL does (SigV4 with the example keys, host, region, action, expiry) and relays a
// good login to a real PostgreSQL 18, so a session proves the token was valid, and the
// double's own TLS (verify-full against its CA, SNI localhost) proves the CA was pinned: the
// same profile with another CA must be refused.

// sslRequestBytes is an SSLRequest: length 8, code 80877103. A TLS ClientHello starts 16 03.
var sslRequestBytes = []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}

// clientRig is a DSQL double standing for localhost in front of PostgreSQL 18, and a profiles
// file for it: p (dsqlenv's defaults: no sslnegotiation), p-direct (sslnegotiation: direct)
// and p-wrongca (a CA that did not sign the double's certificate).
type clientRig struct {
	pg    *testkit.Postgres
	d     *testkit.DSQL
	cfg   string
	other string // the wrong CA's file
}

func startClientRig(t *testing.T) *clientRig {
	t.Helper()
	testkit.RequireTool(t, "bash")
	r := &clientRig{}
	// TrustTLS: the server's own TCP port lets any TLS client in as admin, so a client can be
	// tried against PostgreSQL 18 itself, without the double. The double reaches it through
	// its Unix socket, where the token it has checked is not needed.
	r.pg = testkit.StartPostgresWith(t, testkit.Options{Version: 18, TrustTLS: true})
	r.pg.SQL(t, "CREATE ROLE admin LOGIN")
	r.d = testkit.StartDSQL(t, r.pg, testkit.DSQLOptions{Host: "localhost"})
	r.other = writeFile(t, t.TempDir(), "other-ca.pem", string(testkit.NewCA(t, "some other CA").CertPEM))
	r.cfg = writeFile(t, t.TempDir(), "profiles.yaml", fmt.Sprintf(`defaults:
  region: us-east-1
  port: %d
  sslrootcert: %s
  database_url: DATABASE_URL
profiles:
  p:
    endpoint: localhost
  p-direct:
    endpoint: localhost
    sslnegotiation: direct
  p-wrongca:
    endpoint: localhost
    sslrootcert: %s
`, r.d.Port, r.d.CAFile, r.other))
	return r
}

// env is an environment with AWS's example keys (tokens the double accepts) and the rig's
// profiles file, and nothing of this machine's PostgreSQL or AWS set-up.
func (r *clientRig) env(t *testing.T, extra ...string) []string {
	return awsEnv(t, true, append([]string{"DSQLENV_CONFIG=" + r.cfg}, extra...)...)
}

// run runs dsqlenv with args and returns its standard output.
func (r *clientRig) run(t *testing.T, args ...string) string {
	t.Helper()
	res := runBin(t, r.env(t), args...)
	if res.code != 0 {
		t.Fatalf("dsqlenv %s: exit %d: %s", strings.Join(args, " "), res.code, res.stderr)
	}
	return res.stdout
}

// block evaluates `dsqlenv bash PROFILE` in a real bash, as a user does, and returns the
// environment that bash then passes to the programs it runs.
func (r *clientRig) block(t *testing.T, profile string) []string {
	t.Helper()
	cmd := exec.Command("bash", "-c", `eval "$("$BIN" bash "$PROFILE")" || exit 1; exec env -0`)
	cmd.Env = r.env(t, "BIN="+binPath, "PROFILE="+profile)
	res := runCmd(t, cmd)
	if res.code != 0 {
		t.Fatalf("eval \"$(dsqlenv bash %s)\": exit %d: %s", profile, res.code, res.stderr)
	}
	var env []string
	for _, kv := range strings.Split(strings.TrimSuffix(res.stdout, "\x00"), "\x00") {
		if !strings.HasPrefix(kv, "BIN=") && !strings.HasPrefix(kv, "PROFILE=") {
			env = append(env, kv)
		}
	}
	if getenv(env, "PGSSLMODE") != "verify-full" || getenv(env, "PGPASSWORD") == "" {
		t.Fatalf("the %s block left no PGSSLMODE=verify-full or no PGPASSWORD: %q", profile, env)
	}
	return env
}

// getenv is the value of name in env, "" when absent.
func getenv(env []string, name string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v
		}
	}
	return ""
}

// login checks, after a client said it connected, that the double accepted exactly one more
// session, that the token it checked was want (when not ""), and that the client began with an SSLRequest
// (libpq's default negotiation, which dsqlenv's default output leaves in place).
func (r *clientRig) login(t *testing.T, what string, before testkit.DSQLStats, want string) {
	t.Helper()
	s := r.d.Stats()
	if s.Accepted != before.Accepted+1 {
		t.Errorf("%s: the double accepted %d sessions, want 1 (last refusal %q)", what, s.Accepted-before.Accepted, s.LastRefusal)
		return
	}
	if want != "" && (len(s.Tokens) == 0 || s.Tokens[len(s.Tokens)-1] != want) {
		t.Errorf("%s: the double was not sent the token dsqlenv minted", what)
	}
	if first := s.FirstBytes[len(s.FirstBytes)-1]; !bytes.HasPrefix(first, sslRequestBytes) {
		t.Errorf("%s: the client began with % x, not an SSLRequest", what, first[:min(len(first), 8)])
	}
	if ep := s.Endpoints[len(s.Endpoints)-1]; ep != "localhost" {
		t.Errorf("%s: SNI %q, want localhost", what, ep)
	}
}

// refused checks that the double accepted no session since before.
func (r *clientRig) refused(t *testing.T, what string, before testkit.DSQLStats) testkit.DSQLStats {
	t.Helper()
	s := r.d.Stats()
	if s.Accepted != before.Accepted {
		t.Errorf("%s: the double accepted a session", what)
	}
	return s
}

// The lib/pq client runs in a child: this test binary again, which lib/pqChild below turns
// into a program that opens sql.Open("postgres", DSN) with exactly the environment the test
// gives it (lib/pq reads PG* from the process environment, as libpq does).
const (
	libpqChildEnv = "DSQLENV_TEST_LIBPQ_CHILD"
	libpqDSNEnv   = "DSQLENV_TEST_LIBPQ_DSN"
	clientQuery   = "SELECT current_user || '|' || current_database()"
)

func init() {
	if os.Getenv(libpqChildEnv) != "1" {
		return
	}
	dsn := os.Getenv(libpqDSNEnv)
	os.Unsetenv(libpqChildEnv)
	os.Unsetenv(libpqDSNEnv)
	os.Exit(libpqChild(dsn))
}

// libpqChild connects with lib/pq, prints "user|database" or "error: …", and returns the
// exit status.
func libpqChild(dsn string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := sql.Open("postgres", dsn)
	if err == nil {
		defer db.Close()
		var s string
		if err = db.QueryRowContext(ctx, clientQuery).Scan(&s); err == nil {
			fmt.Println(s)
			return 0
		}
	}
	fmt.Println("error: " + strings.ReplaceAll(err.Error(), "\n", " "))
	return 1
}

// runLibPQ runs the lib/pq child with env and dsn and returns its one line of output.
func runLibPQ(t *testing.T, env []string, dsn string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(append([]string(nil), env...), libpqChildEnv+"=1", libpqDSNEnv+"="+dsn)
	out, err := cmd.CombinedOutput()
	line := strings.TrimSpace(string(out))
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("the lib/pq child: %v", err)
	}
	if (err == nil) == strings.HasPrefix(line, "error: ") || strings.Contains(line, "\n") {
		t.Fatalf("the lib/pq child: %v, %q", err, line)
	}
	return line
}

// TestClientLibPQ: lib/pq (Go, v1.12.3) from dsqlenv's default output, verify-full with the
// profile's CA: the environment of a bash block with sql.Open("postgres", ""), the URL with
// nothing else in the environment, DATABASE_URL from the block, and service=NAME with the
// token in PGPASSWORD. Then the caveat the README documents: with sslnegotiation: direct
// lib/pq sends no ALPN, and PostgreSQL 18 and the double both refuse it (lib/pq#1331).
func TestClientLibPQ(t *testing.T) {
	r := startClientRig(t)
	clean := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	const want = "admin|postgres"

	t.Run("environment", func(t *testing.T) {
		env := r.block(t, "p")
		before := r.d.Stats()
		if got := runLibPQ(t, env, ""); got != want {
			t.Fatalf("sql.Open(\"postgres\", \"\") after the block: %s", got)
		}
		r.login(t, "lib/pq from the environment", before, getenv(env, "PGPASSWORD"))

		before = r.d.Stats()
		if got := runLibPQ(t, env, getenv(env, "DATABASE_URL")); got != want {
			t.Errorf("sql.Open(\"postgres\", os.Getenv(\"DATABASE_URL\")) after the block: %s", got)
		} else {
			r.login(t, "lib/pq with DATABASE_URL", before, getenv(env, "PGPASSWORD"))
		}
	})

	t.Run("URL", func(t *testing.T) {
		u := strings.TrimSpace(r.run(t, "url", "p"))
		before := r.d.Stats()
		if got := runLibPQ(t, clean, u); got != want {
			t.Fatalf("sql.Open(\"postgres\", URL): %s", got)
		}
		r.login(t, "lib/pq with the URL", before, passwordOf(t, u))
	})

	t.Run("service file", func(t *testing.T) {
		svc := filepath.Join(t.TempDir(), "pg_service.conf")
		r.run(t, "service", "--file", svc, "p")
		token := strings.TrimSpace(r.run(t, "token", "p"))
		before := r.d.Stats()
		if got := runLibPQ(t, append(clean, "PGSERVICEFILE="+svc, "PGPASSWORD="+token), "service=p"); got != want {
			t.Fatalf("sql.Open(\"postgres\", \"service=p\"): %s", got)
		}
		r.login(t, "lib/pq with service=p", before, token)
	})

	t.Run("wrong CA", func(t *testing.T) {
		env := r.block(t, "p-wrongca")
		before := r.d.Stats()
		for _, dsn := range []string{"", getenv(env, "DATABASE_URL")} {
			if got := runLibPQ(t, env, dsn); !strings.Contains(got, "certificate signed by unknown authority") {
				t.Errorf("lib/pq with a CA that did not sign the server's certificate (dsn %.30q): %s", dsn, got)
			}
		}
		if s := r.refused(t, "wrong CA", before); len(s.Tokens) != len(before.Tokens) {
			t.Errorf("lib/pq sent the token to a server it could not verify")
		}
	})

	// The caveat: lib/pq obeys PGSSLNEGOTIATION=direct (from a block, and even in a program
	// given only a URL) and sslnegotiation=direct in a URL, but offers no ALPN.
	t.Run("sslnegotiation direct fails", func(t *testing.T) {
		env := r.block(t, "p-direct")
		if getenv(env, "PGSSLNEGOTIATION") != "direct" {
			t.Fatalf("the p-direct block does not set PGSSLNEGOTIATION=direct")
		}
		plainURL := strings.TrimSpace(r.run(t, "url", "p"))
		for _, c := range []struct {
			name string
			env  []string
			dsn  string
		}{
			{"the p-direct block", env, ""},
			{"the p-direct URL", clean, getenv(env, "DATABASE_URL")},
			{"a default URL with PGSSLNEGOTIATION=direct in the environment", append(clean, "PGSSLNEGOTIATION=direct"), plainURL},
		} {
			before := r.d.Stats()
			got := runLibPQ(t, c.env, c.dsn)
			s := r.refused(t, c.name, before)
			if !strings.HasPrefix(got, "error: ") || !strings.Contains(got, "EOF") {
				t.Errorf("lib/pq with %s: %s; want the EOF of lib/pq#1331", c.name, got)
			}
			if s.Refused != before.Refused+1 || s.LastRefusal != "direct TLS without ALPN postgresql" {
				t.Errorf("lib/pq with %s: the double's last refusal %q", c.name, s.LastRefusal)
			}
			if first := s.FirstBytes[len(s.FirstBytes)-1]; !bytes.HasPrefix(first, []byte{0x16, 0x03}) {
				t.Errorf("lib/pq with %s began with % x, not a TLS ClientHello", c.name, first[:min(len(first), 8)])
			}
		}

		// PostgreSQL 18 itself refuses it the same way: the double's rule is the server's.
		log := filepath.Join(r.pg.Socket, "server.log")
		direct := fmt.Sprintf("host=localhost port=%d user=admin dbname=postgres sslmode=verify-full sslrootcert=%s", r.pg.Port, r.pg.CAFile)
		if got := runLibPQ(t, clean, direct); got != want {
			t.Errorf("lib/pq straight to PostgreSQL 18, negotiating with an SSLRequest: %s", got)
		}
		if got := runLibPQ(t, clean, direct+" sslnegotiation=direct"); !strings.HasPrefix(got, "error: ") || !strings.Contains(got, "EOF") {
			t.Errorf("lib/pq straight to PostgreSQL 18 with sslnegotiation=direct: %s", got)
		}
		eventuallyTrue(t, "PostgreSQL 18 logs the direct TLS connection without ALPN", func() bool {
			b, _ := os.ReadFile(log)
			return bytes.Contains(b, []byte("received direct SSL connection request without ALPN protocol negotiation extension"))
		})
	})
}

// eventuallyTrue polls cond for up to a minute.
func eventuallyTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// postgresJS runs testdata/clients/postgresjs.js with env and returns its one line of output
// per argument.
func postgresJS(t *testing.T, env []string, args ...string) []string {
	t.Helper()
	node := testkit.RequireTool(t, "node")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	script, err := filepath.Abs(filepath.Join("testdata", "clients", "postgresjs.js"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	// dsqlenv on PATH, for the modes that run it as a user's program would.
	cmd.Env = append(withPath(env, filepath.Dir(binPath)), "NODE_PATH="+testkit.NodeModules(t))
	out, err := cmd.CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil || len(lines) != len(args) {
		t.Fatalf("node postgresjs.js %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("postgres.js %s: %s", strings.Join(args, " "), out)
	return lines
}

// withPath is env with dir put first in PATH.
func withPath(env []string, dir string) []string {
	out := append([]string(nil), env...)
	for i, kv := range out {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			out[i] = "PATH=" + dir + string(os.PathListSeparator) + v
			return out
		}
	}
	return append(out, "PATH="+dir)
}

// TestClientPostgresJS: postgres.js (npm postgres 3.4.9) reads PGHOST, PGPORT, PGUSER,
// PGPASSWORD and PGDATABASE but not PGSSLMODE or PGSSLROOTCERT, so what the README tells a user
// to write pins the CA by hand: postgres({ssl: {ca: fs.readFileSync(process.env.PGSSLROOTCERT)}})
// after a block, under dsqlenv exec, or with `dsqlenv json` copied into process.env. A wrong CA
// is refused. Also pinned: postgres() alone starts no TLS, PGSSL=verify-full verifies against
// Node's own store (not PGSSLROOTCERT), dsqlenv's URL is refused (postgres.js sends its
// sslrootcert to the server as a setting), and sslnegotiation: direct works (it offers ALPN).
func TestClientPostgresJS(t *testing.T) {
	r := startClientRig(t)
	const want = "admin|postgres"
	env := r.block(t, "p")

	before := r.d.Stats()
	if got := postgresJS(t, env, "env")[0]; got != want {
		t.Fatalf("the README's two lines after the block: %s", got)
	}
	r.login(t, "postgres.js after the block", before, getenv(env, "PGPASSWORD"))

	// dsqlenv exec p -- node app.js: the same environment, without a shell.
	before = r.d.Stats()
	script, _ := filepath.Abs(filepath.Join("testdata", "clients", "postgresjs.js"))
	cmd := exec.Command(binPath, "exec", "p", "--", testkit.RequireTool(t, "node"), script, "env")
	cmd.Env = r.env(t, "NODE_PATH="+testkit.NodeModules(t))
	if res := runCmd(t, cmd); res.code != 0 || res.stdout != want+"\n" {
		t.Errorf("dsqlenv exec p -- node: exit %d, %q, %s", res.code, res.stdout, res.stderr)
	} else {
		r.login(t, "postgres.js under dsqlenv exec", before, "")
	}

	before = r.d.Stats()
	if got := postgresJS(t, r.env(t), "json:p")[0]; got != want {
		t.Errorf("the README's lines after dsqlenv json: %s", got)
	} else {
		r.login(t, "postgres.js with dsqlenv json", before, "")
	}

	before = r.d.Stats()
	if got := postgresJS(t, env, "token:p")[0]; got != want {
		t.Errorf("a fresh dsqlenv token per connection: %s", got)
	} else {
		r.login(t, "postgres.js with pass: () => dsqlenv token", before, "")
	}

	// The same code with a CA that did not sign the double's certificate: refused before a
	// token is sent.
	before = r.d.Stats()
	if got := postgresJS(t, r.block(t, "p-wrongca"), "env")[0]; !strings.HasPrefix(got, "error: ") || !strings.Contains(got, "certificate") {
		t.Errorf("postgres.js with a wrong CA: %s", got)
	}
	if s := r.refused(t, "postgres.js with a wrong CA", before); len(s.Tokens) != len(before.Tokens) {
		t.Errorf("postgres.js sent the token to a server it could not verify")
	}

	// postgres() alone: PGSSLMODE=verify-full is not read, so no TLS at all; DSQL refuses it.
	before = r.d.Stats()
	if got := postgresJS(t, env, "bare")[0]; !strings.Contains(got, "TLS required") {
		t.Errorf("postgres() without ssl: %s", got)
	}
	if s := r.refused(t, "postgres() without ssl", before); s.LastRefusal != "startup without TLS" {
		t.Errorf("postgres() without ssl: the double's last refusal %q", s.LastRefusal)
	}

	// PGSSL=verify-full (read by postgres.js alone) turns on verified TLS against Node's
	// own CA store, which holds Amazon Root CA 1 but not the double's test CA; PGSSLROOTCERT
	// still plays no part. NODE_EXTRA_CA_CERTS adds a file to Node's store.
	before = r.d.Stats()
	if got := postgresJS(t, append(env, "PGSSL=verify-full"), "bare")[0]; !strings.HasPrefix(got, "error: ") || !strings.Contains(got, "certificate") {
		t.Errorf("PGSSL=verify-full against a CA outside Node's store: %s", got)
	}
	r.refused(t, "PGSSL=verify-full", before)
	before = r.d.Stats()
	if got := postgresJS(t, append(env, "PGSSL=verify-full", "NODE_EXTRA_CA_CERTS="+r.d.CAFile), "bare")[0]; got != want {
		t.Errorf("PGSSL=verify-full with NODE_EXTRA_CA_CERTS: %s", got)
	} else {
		r.login(t, "postgres.js with PGSSL=verify-full", before, getenv(env, "PGPASSWORD"))
	}

	// dsqlenv's URL: postgres.js takes sslmode but passes sslrootcert on to the server as a
	// run-time setting, which PostgreSQL (and DSQL) reject.
	before = r.d.Stats()
	if got := postgresJS(t, env, "url")[0]; !strings.Contains(got, `unrecognized configuration parameter "sslrootcert"`) {
		t.Errorf("postgres.js with dsqlenv's URL: %s", got)
	}
	r.refused(t, "postgres.js with the URL", before)

	// sslnegotiation: direct: postgres.js reads PGSSLNEGOTIATION and offers ALPN postgresql.
	direct := r.block(t, "p-direct")
	before = r.d.Stats()
	if got := postgresJS(t, direct, "env")[0]; got != want {
		t.Errorf("the README's two lines after the p-direct block: %s", got)
	} else if s := r.d.Stats(); s.Accepted != before.Accepted+1 || !bytes.HasPrefix(s.FirstBytes[len(s.FirstBytes)-1], []byte{0x16, 0x03}) {
		t.Errorf("postgres.js with PGSSLNEGOTIATION=direct: accepted %d, first bytes % x", s.Accepted-before.Accepted, s.FirstBytes[len(s.FirstBytes)-1])
	}
}

// python is Debian's interpreter, the only one that loads Debian's python3-* modules.
const python = "/usr/bin/python3"

// requirePython checks for /usr/bin/python3 with psycopg 3, psycopg2 and SQLAlchemy, and
// returns SQLAlchemy's major version. Missing, the test is skipped, or fails under CI.
func requirePython(t *testing.T) int {
	t.Helper()
	testkit.RequireTool(t, python)
	out, err := exec.Command(python, "-c", "import psycopg, psycopg2, sqlalchemy; print(sqlalchemy.__version__.split('.')[0])").CombinedOutput()
	if err != nil {
		what := fmt.Sprintf("%s cannot import psycopg, psycopg2 and sqlalchemy (%v: %s)", python, err, bytes.TrimSpace(out))
		if testkit.InCI() {
			t.Fatalf("%s: .ci/test-tools installs python3-psycopg, python3-psycopg2 and python3-sqlalchemy (CI=true, so this is a failure)", what)
		}
		t.Skipf("%s; skipping (run .ci/test-tools to install them)", what)
	}
	var major int
	if _, err := fmt.Sscan(string(out), &major); err != nil {
		t.Fatalf("SQLAlchemy's version: %q", out)
	}
	return major
}

// pyClient runs testdata/clients/pyclients.py and returns its one line of output.
func pyClient(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, append([]string{filepath.Join("testdata", "clients", "pyclients.py")}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	line := strings.TrimSpace(string(out))
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("pyclients.py %s: %v", strings.Join(args, " "), err)
	}
	if (err == nil) == strings.HasPrefix(line, "error: ") || strings.Contains(line, "\n") {
		t.Fatalf("pyclients.py %s: %v, %q", strings.Join(args, " "), err, line)
	}
	if err != nil {
		t.Logf("pyclients.py %s: %s", strings.Join(args, " "), line)
	}
	return line
}

// TestClientPython: psycopg 3 and psycopg2 (Debian's, on Debian's libpq 15), and SQLAlchemy
// over psycopg2 (postgresql:// and postgresql+psycopg2://), from what dsqlenv prints: the
// environment of a bash block (libpq reads PG*), service=NAME from `dsqlenv service` with the
// token in PGPASSWORD, and the URL from `dsqlenv url` alone. verify-full with the profile's
// CA: the same with a CA that did not sign the double's certificate is refused. SQLAlchemy's
// psycopg 3 dialect (postgresql+psycopg://) is tried when SQLAlchemy is 2.x; 1.4 has none.
func TestClientPython(t *testing.T) {
	sqlalchemy := requirePython(t)
	r := startClientRig(t)
	const want = "admin|postgres"
	clean := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}

	block := r.block(t, "p")
	u := strings.TrimSpace(r.run(t, "url", "p"))
	svc := filepath.Join(t.TempDir(), "pg_service.conf")
	r.run(t, "service", "--file", svc, "p")
	token := strings.TrimSpace(r.run(t, "token", "p"))
	sources := []struct {
		name  string
		env   []string
		token string
	}{
		{"env", block, getenv(block, "PGPASSWORD")},
		{"service", append(clean, "PGSERVICEFILE="+svc, "PGPASSWORD="+token), token},
		{"url", append(clean, "DATABASE_URL="+u), passwordOf(t, u)},
	}
	drivers := []string{"psycopg", "psycopg2", "sqlalchemy", "sqlalchemy+psycopg2"}
	if sqlalchemy >= 2 {
		drivers = append(drivers, "sqlalchemy+psycopg")
	}
	for _, driver := range drivers {
		for _, src := range sources {
			before := r.d.Stats()
			if got := pyClient(t, src.env, driver, src.name, "p"); got != want {
				t.Errorf("%s from %s: %s", driver, src.name, got)
				continue
			}
			r.login(t, driver+" from "+src.name, before, src.token)
		}
	}

	wrong := r.block(t, "p-wrongca")
	for _, driver := range drivers {
		for _, src := range []struct {
			name string
			env  []string
		}{{"env", wrong}, {"url", append(clean, "DATABASE_URL="+getenv(wrong, "DATABASE_URL"))}} {
			before := r.d.Stats()
			if got := pyClient(t, src.env, driver, src.name); !strings.Contains(got, "certificate verify failed") {
				t.Errorf("%s from %s with a wrong CA: %s", driver, src.name, got)
			}
			if s := r.refused(t, driver+" with a wrong CA", before); len(s.Tokens) != len(before.Tokens) {
				t.Errorf("%s from %s sent the token to a server it could not verify", driver, src.name)
			}
		}
	}

	if sqlalchemy < 2 {
		// Debian 12's SQLAlchemy 1.4 has no psycopg 3 dialect: postgresql+psycopg:// is 2.x.
		if got := pyClient(t, sources[2].env, "sqlalchemy+psycopg", "url"); !strings.Contains(got, "postgresql.psycopg") {
			t.Errorf("postgresql+psycopg:// with SQLAlchemy %d: %s", sqlalchemy, got)
		}
	}
}
