//go:build unix

package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// The cluster the PrivateLink tests stand for: the double's default cluster ID, reached
// through the endpoint service dsql-fnh4.
const (
	plName = testkit.DSQLClusterID + ".dsql-fnh4.us-east-1.on.aws"
	plVPCE = "vpce-0123456789abcdef0-abcdefgh.dsql-fnh4.us-east-1.vpce.amazonaws.com"
)

// TestGoldenVPCEndpoint: a profile with vpc_endpoint: carries the same split into every
// output, from the one table: host is the cluster's PrivateLink name (the token is signed for
// it), hostaddr the VPC endpoint's address, looked up when the output is made, verify-full
// kept. jdbc, which has no hostaddr, refuses and says what to use instead, and a name that
// does not resolve is an error naming the file, line, profile and field; neither prints
// anything a shell would run.
func TestGoldenVPCEndpoint(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", fmt.Sprintf(`profiles:
  pl:
    endpoint: %s.dsql.us-east-1.on.aws
    vpc_endpoint: %s
    database_url: DATABASE_URL
  gone:
    endpoint: %s
    vpc_endpoint: vpce-gone.dsql-fnh4.us-east-1.vpce.amazonaws.com
`, testkit.DSQLClusterID, plVPCE, plName))
	var asked []string
	e := testEnv(fixedMint)
	e.LookupHost = func(_ context.Context, host string) ([]string, error) {
		asked = append(asked, host)
		if host == plVPCE {
			return []string{"10.0.2.7", "10.0.3.9"}, nil
		}
		return nil, errors.New("no such host")
	}
	svc := filepath.Join(dir, "pg_service.conf")
	var got strings.Builder
	for _, args := range [][]string{
		{"bash", "pl"}, {"service", "--file", svc, "pl"}, {"url", "pl"}, {"jdbc", "pl"}, {"bash", "gone"}, {"service", "--file", svc, "gone"},
	} {
		r := runEnv(t, e, append([]string{"--config", cfg}, args...)...)
		fmt.Fprintf(&got, "$ dsqlenv %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		if args[0] == "service" {
			data, _ := os.ReadFile(svc)
			fmt.Fprintf(&got, "--- %s\n%s", filepath.Base(svc), data)
		}
		got.WriteString("\n")
	}
	golden(t, filepath.Join("testdata", "golden", "vpc_endpoint.txt"),
		strings.NewReplacer(xdgDir, "$XDG", escapeURL(xdgDir, ""), "$XDG", dir, "$DIR").Replace(got.String()))
	for _, h := range asked {
		if h != plVPCE && !strings.HasPrefix(h, "vpce-gone.") {
			t.Errorf("looked up %q: only the VPC endpoint's name may be looked up", h)
		}
	}
}

// TestVPCEndpointConnectsWithVerifyFull is PrivateLink without private DNS against the DSQL
// double, which stands for the cluster's PrivateLink name (its certificate holds that name,
// and it refuses any other SNI or token host) on 127.0.0.1. The name resolves nowhere here:
// clients reach the double only through hostaddr, the VPC endpoint's address. A real bash
// evaluates the block and psql (libpq 18 and 15) connects with verify-full; so do the
// service file, the URL, exec, doctor and the proxy. A profile naming another cluster fails
// the certificate check: verification is against the name, not the address.
func TestVPCEndpointConnectsWithVerifyFull(t *testing.T) {
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18})
	pg.SQL(t, "CREATE ROLE admin LOGIN")
	d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{Host: plName})
	cfg := writeFile(t, t.TempDir(), "p.yaml", fmt.Sprintf(`defaults:
  port: %d
  sslrootcert: %s
  vpc_endpoint: 127.0.0.1
profiles:
  pl:
    endpoint: %s
  other:
    endpoint: zyxwvutsrqponmlkjihgfedcba.dsql-fnh4.us-east-1.on.aws
`, d.Port, d.CAFile, plName))
	env := awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "BIN="+binPath)
	query := `select current_user, (select ssl from pg_stat_ssl where pid = pg_backend_pid())`

	for _, libpq := range []int{18, 15} {
		psql, penv := testkit.PsqlWithLibpq(t, libpq)
		t.Run(fmt.Sprintf("bash block, libpq %d", libpq), func(t *testing.T) {
			before := d.Stats()
			cmd := exec.Command(testkit.RequireTool(t, "bash"), "-c",
				`eval "$("$BIN" bash pl)" || exit 1; [ "$PGHOST|$PGHOSTADDR|$PGSSLMODE" = "`+plName+`|127.0.0.1|verify-full" ] || { echo "block: $PGHOST|$PGHOSTADDR|$PGSSLMODE"; exit 1; }; "$PSQL" -X -At -F '|' -c "$Q"`)
			cmd.Env = append(append(env, penv...), "PSQL="+psql, "Q="+query)
			out, err := cmd.CombinedOutput()
			// The double relays the session over the server's Unix socket: ssl is f there.
			if got := strings.TrimSpace(string(out)); err != nil || got != "admin|f" {
				t.Fatalf("psql through the block: %v\n%s", err, got)
			}
			sessions(t, d, "psql through the block", before, 1)
		})
	}

	psql, penv := testkit.PsqlWithLibpq(t, 18)
	clean := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, penv...)
	t.Run("service file", func(t *testing.T) {
		svc := filepath.Join(t.TempDir(), "pg_service.conf")
		if r := runBin(t, env, "service", "--file", svc, "pl"); r.code != 0 {
			t.Fatalf("service: %+v", r)
		}
		token := strings.TrimSpace(runBin(t, env, "token", "pl").stdout)
		before := d.Stats()
		cmd := exec.Command(psql, "-X", "-At", "-c", "select current_user", "service=pl")
		cmd.Env = append(clean, "PGSERVICEFILE="+svc, "PGPASSWORD="+token)
		out, err := cmd.CombinedOutput()
		if strings.TrimSpace(string(out)) != "admin" || err != nil {
			t.Fatalf("psql service=pl: %v\n%s", err, out)
		}
		sessions(t, d, "psql service=pl", before, 1)
	})
	// libpq matches a password file's host against host, not hostaddr: the PrivateLink name.
	t.Run("password file and service file", func(t *testing.T) {
		dir := t.TempDir()
		svc, pass := filepath.Join(dir, "pg_service.conf"), filepath.Join(dir, "pgpass")
		if r := runBin(t, env, "pgpass", "--file", pass, "pl"); r.code != 0 {
			t.Fatalf("pgpass: %+v", r)
		}
		if r := runBin(t, env, "service", "--file", svc, "--passfile", pass, "pl"); r.code != 0 {
			t.Fatalf("service: %+v", r)
		}
		before := d.Stats()
		cmd := exec.Command(psql, "-X", "-At", "-c", "select current_user", "service=pl")
		cmd.Env = append(clean, "PGSERVICEFILE="+svc)
		if out, err := cmd.CombinedOutput(); strings.TrimSpace(string(out)) != "admin" || err != nil {
			t.Fatalf("psql service=pl with passfile: %v\n%s", err, out)
		}
		sessions(t, d, "psql service=pl with passfile", before, 1)
	})
	t.Run("url", func(t *testing.T) {
		u := strings.TrimSpace(runBin(t, env, "url", "pl").stdout)
		before := d.Stats()
		cmd := exec.Command(psql, "-X", "-At", "-c", "select current_user", u)
		cmd.Env = clean
		if out, err := cmd.CombinedOutput(); strings.TrimSpace(string(out)) != "admin" || err != nil {
			t.Fatalf("psql URL: %v\n%s", err, out)
		}
		sessions(t, d, "psql URL", before, 1)
	})
	t.Run("exec", func(t *testing.T) {
		before := d.Stats()
		r := runBin(t, append(env, penv...), "exec", "pl", "--", psql, "-X", "-At", "-c", "select current_user")
		if r.code != 0 || strings.TrimSpace(r.stdout) != "admin" {
			t.Fatalf("exec psql: %+v", r)
		}
		sessions(t, d, "exec psql", before, 1)
	})
	t.Run("doctor", func(t *testing.T) {
		before := d.Stats()
		r := runBin(t, env, "doctor", "pl")
		for _, want := range []string{
			"ok    pl: vpc_endpoint 127.0.0.1: connecting to 127.0.0.1, the certificate checked against " + plName,
			"ok    pl: TCP connect to 127.0.0.1:",
			"ok    pl: TLS 1.3 verified (verify-full, sslnegotiation postgres): certificate for " + plName,
			"ok    pl: psql logged in and ran select 1",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("doctor: no line %q in\n%s%s", want, r.stdout, r.stderr)
			}
		}
		if r.code != 0 {
			t.Errorf("doctor: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		sessions(t, d, "doctor's psql", before, 1)
	})
	t.Run("proxy", func(t *testing.T) {
		runtime := t.TempDir()
		passfile := filepath.Join(t.TempDir(), "pgpass")
		p := startProxy(t, append(env, "XDG_RUNTIME_DIR="+runtime, "PGPASSFILE="+passfile), 1, "pl")
		before := d.Stats()
		cmd := exec.Command(psql, "-XAtc", "select current_user", "host="+filepath.Join(runtime, "dsqlenv", "pl")+" user=admin dbname=postgres")
		cmd.Env = append(clean, "PGPASSFILE="+passfile)
		if out, err := cmd.CombinedOutput(); err != nil || string(out) != "admin\n" {
			t.Fatalf("psql through the proxy: %v %q\n%s", err, out, p.log())
		}
		sessions(t, d, "the proxy", before, 1)
	})
	t.Run("another cluster's name fails verify-full", func(t *testing.T) {
		before := d.Stats()
		cmd := exec.Command(testkit.RequireTool(t, "bash"), "-c", `eval "$("$BIN" bash other)" || exit 1; "$PSQL" -X -At -c 'select 1'`)
		cmd.Env = append(append(env, penv...), "PSQL="+psql)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), `server certificate for "`+plName+`"`) || !strings.Contains(string(out), `does not match host name "zyxwvutsrqponmlkjihgfedcba.dsql-fnh4.us-east-1.on.aws"`) {
			t.Errorf("want a host name mismatch, got %v\n%s", err, out)
		}
		if s := d.Stats(); len(s.Tokens) != len(before.Tokens) {
			t.Errorf("a token was sent to a server whose certificate does not match")
		}
	})
}

// TestUnverifiedPrivateLinkOnlyWhenAsked: vpc_endpoint: alone never gives AWS's unverified
// route (sslmode require, the VPC endpoint as host, amzn-cluster-id) in any output; with
// privatelink: unverified every output carries it, the token is for the public name, and
// each says so on stderr; show and doctor too. A contradicting sslmode and privatelink:
// without vpc_endpoint: are errors on their line.
func TestUnverifiedPrivateLinkOnlyWhenAsked(t *testing.T) {
	dir := t.TempDir()
	public := testkit.DSQLClusterID + ".dsql.us-east-1.on.aws"
	cfg := writeFile(t, dir, "p.yaml", fmt.Sprintf(`profiles:
  verified:
    endpoint: %[1]s
    vpc_endpoint: %[2]s
  unverified:
    endpoint: %[1]s
    vpc_endpoint: %[2]s
    privatelink: unverified
    options: -c search_path=app
  strict:
    endpoint: %[1]s
    vpc_endpoint: %[2]s
    privatelink: unverified
    sslmode: verify-full
  lone:
    endpoint: %[1]s
    privatelink: unverified
`, public, plVPCE))
	e := testEnv(fixedMint)
	e.LookupHost = func(_ context.Context, host string) ([]string, error) { return []string{"10.0.2.7"}, nil }
	svc := filepath.Join(dir, "pg_service.conf")
	outputs := [][]string{{"bash", "%s"}, {"url", "%s"}, {"jdbc", "%s"}, {"token", "%s"}, {"service", "--file", svc, "%s"}}
	run := func(args []string, profile string) (result, string) {
		a := append([]string{"--config", cfg}, args...)
		for i := range a {
			a[i] = strings.ReplaceAll(a[i], "%s", profile)
		}
		os.Remove(svc)
		r := runEnv(t, e, a...)
		data, _ := os.ReadFile(svc)
		return r, r.stdout + string(data)
	}
	for _, args := range outputs {
		r, out := run(args, "verified")
		if args[0] == "jdbc" {
			continue // refused: no hostaddr (TestGoldenVPCEndpoint)
		}
		if r.code != 0 || strings.Contains(out, "require") || strings.Contains(out, "amzn-cluster-id") || strings.Contains(r.stderr, "unverified") {
			t.Errorf("%s verified: exit %d, the unverified route without privatelink: unverified:\n%s%s", args[0], r.code, out, r.stderr)
		}
	}
	warning := "dsqlenv: warning: profile unverified: privatelink: unverified: clients connect to " + plVPCE + " with sslmode require, and nothing checks that the server is the cluster " + public
	for _, args := range outputs {
		r, out := run(args, "unverified")
		if r.code != 0 || !strings.HasPrefix(r.stderr, warning) {
			t.Errorf("%s unverified: exit %d, stderr %q, want the warning", args[0], r.code, r.stderr)
			continue
		}
		if signed := public + "?Action=DbConnectAdmin&"; args[0] != "service" && !strings.Contains(out, signed) && !strings.Contains(out, escapeURL(signed, "")) {
			t.Errorf("%s unverified: the token is not signed for the public name %s:\n%s", args[0], public, out)
		}
		if args[0] == "token" {
			continue
		}
		for _, want := range map[string][]string{
			"bash":    {"export PGHOST='" + plVPCE + "';", "export PGSSLMODE='require';", "export PGOPTIONS='-c amzn-cluster-id=" + testkit.DSQLClusterID + " -c search_path=app';"},
			"url":     {"@" + plVPCE + ":5432/postgres?sslmode=require&", "options=-c%20amzn-cluster-id%3D" + testkit.DSQLClusterID},
			"jdbc":    {"jdbc:postgresql://" + plVPCE + ":5432/postgres?", "sslmode=require", "options=-c%20amzn-cluster-id%3D" + testkit.DSQLClusterID},
			"service": {"host=" + plVPCE + "\n", "sslmode=require\n", "options=-c amzn-cluster-id=" + testkit.DSQLClusterID + " -c search_path=app\n"},
		}[args[0]] {
			if !strings.Contains(out, want) {
				t.Errorf("%s unverified: no %q in\n%s", args[0], want, out)
			}
		}
		if strings.Contains(out, "10.0.2.7") || strings.Contains(out, "hostaddr") || strings.Contains(out, "PGHOSTADDR='") {
			t.Errorf("%s unverified: an address: the client connects to the VPC endpoint's name\n%s", args[0], out)
		}
	}
	if r := runEnv(t, e, "--config", cfg, "show", "unverified"); r.code != 0 ||
		!strings.Contains(r.stdout, "warning: profile unverified: privatelink: unverified: clients connect to "+plVPCE) ||
		!regexp.MustCompile(`(?m)^  sslmode +require +privatelink: unverified, line 8$`).MatchString(r.stdout) {
		t.Errorf("show: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for profile, want := range map[string]string{
		"strict": "p.yaml:14: profile strict: sslmode verify-full cannot hold with privatelink: unverified: the VPC endpoint's name " + plVPCE + " is not in the cluster's certificate: remove sslmode:",
		"lone":   "p.yaml:17: profile lone: privatelink: unverified needs vpc_endpoint: (the VPC endpoint's DNS name): add it, or remove privatelink:",
	} {
		r := runEnv(t, e, "--config", cfg, "bash", profile)
		if r.code != 1 || r.stdout != "false\n" || !strings.Contains(r.stderr, want) {
			t.Errorf("bash %s: exit %d, stdout %q, stderr %q\nwant %q", profile, r.code, r.stdout, r.stderr, want)
		}
	}
}

// TestUnverifiedPrivateLinkThroughTheDouble: AWS's route against the DSQL double, which answers
// as the VPC endpoint localhost (not in its certificate): psql with the block, and exec, get in
// only with the token signed for the public name and amzn-cluster-id in the options, since
// the double refuses anything else; the SNI is the endpoint's. doctor warns; the proxy, which
// verifies, refuses the profile.
func TestUnverifiedPrivateLinkThroughTheDouble(t *testing.T) {
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18})
	pg.SQL(t, "CREATE ROLE admin LOGIN")
	d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{VPCEndpoint: "localhost"})
	cfg := writeFile(t, t.TempDir(), "p.yaml", fmt.Sprintf(`profiles:
  un:
    endpoint: %s
    vpc_endpoint: localhost
    privatelink: unverified
    port: %d
    sslrootcert: %s
`, d.Host, d.Port, d.CAFile))
	env := awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "BIN="+binPath)
	psql, penv := testkit.PsqlWithLibpq(t, 18)
	check := func(what string, before testkit.DSQLStats) {
		t.Helper()
		s := d.Stats()
		if got := s.Accepted - before.Accepted; got != 1 {
			t.Errorf("%s: the double accepted %d sessions, want 1 (last refusal %q)", what, got, s.LastRefusal)
		}
		if n := len(s.Endpoints); n == 0 || s.Endpoints[n-1] != "localhost" {
			t.Errorf("%s: SNI %v, want localhost last", what, s.Endpoints)
		}
		if n := len(s.Tokens); n == 0 || !strings.HasPrefix(s.Tokens[n-1], d.Host+"?") {
			t.Errorf("%s: the token is not signed for the public name %s", what, d.Host)
		}
	}
	t.Run("bash block", func(t *testing.T) {
		before := d.Stats()
		cmd := exec.Command(testkit.RequireTool(t, "bash"), "-c",
			`eval "$("$BIN" bash un 2>/dev/null)" || exit 1; echo "$PGHOST|${PGHOSTADDR-unset}|$PGSSLMODE"; "$PSQL" -X -At -c 'select current_user'`)
		cmd.Env = append(append(env, penv...), "PSQL="+psql)
		out, err := cmd.CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != "localhost|unset|require\nadmin" {
			t.Fatalf("psql through the block: %v\n%s", err, got)
		}
		check("psql through the block", before)
	})
	t.Run("without amzn-cluster-id the double refuses", func(t *testing.T) {
		before := d.Stats()
		cmd := exec.Command(testkit.RequireTool(t, "bash"), "-c",
			`eval "$("$BIN" bash un 2>/dev/null)" || exit 1; unset PGOPTIONS; "$PSQL" -X -At -c 'select current_user'`)
		cmd.Env = append(append(env, penv...), "PSQL="+psql)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Fatalf("psql got in without amzn-cluster-id:\n%s", out)
		}
		if s := d.Stats(); s.Accepted != before.Accepted || !strings.HasPrefix(s.LastRefusal, `the client reached the VPC endpoint "localhost" with amzn-cluster-id ""`) {
			t.Errorf("accepted %d, last refusal %q", s.Accepted-before.Accepted, s.LastRefusal)
		}
	})
	t.Run("exec", func(t *testing.T) {
		before := d.Stats()
		r := runBin(t, append(env, penv...), "exec", "un", "--", psql, "-X", "-At", "-c", "select current_user")
		if r.code != 0 || strings.TrimSpace(r.stdout) != "admin" || !strings.Contains(r.stderr, "warning: profile un: privatelink: unverified") {
			t.Fatalf("exec psql: %+v", r)
		}
		check("exec psql", before)
	})
	t.Run("doctor", func(t *testing.T) {
		r := runBin(t, append(env, penv...), "doctor", "un")
		for _, want := range []string{
			"warn  un: privatelink: unverified: clients connect to localhost with sslmode require",
			"ok    un: TLS 1.3 verified (require, sslnegotiation postgres)",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("doctor: no line %q in\n%s%s", want, r.stdout, r.stderr)
			}
		}
	})
	// pgjdbc takes the unverified route as it is: no hostaddr needed. Java resolves the VPC
	// endpoint's name from a hosts file and sends it as SNI (JSSE sends none for localhost),
	// so a second double answers as that name.
	t.Run("pgjdbc", func(t *testing.T) {
		javac, java := testkit.RequireTool(t, "javac"), testkit.RequireTool(t, "java")
		jar := testkit.PgJDBC(t)
		dj := testkit.StartDSQL(t, pg, testkit.DSQLOptions{VPCEndpoint: plVPCE})
		dir := t.TempDir()
		cfg := writeFile(t, dir, "j.yaml", fmt.Sprintf("profiles:\n  unj:\n    endpoint: %s\n    vpc_endpoint: %s\n    privatelink: unverified\n    port: %d\n    sslrootcert: %s\n", dj.Host, plVPCE, dj.Port, dj.CAFile))
		r := runBin(t, env, "--config", cfg, "jdbc", "unj")
		if r.code != 0 || !strings.Contains(r.stderr, "warning: profile unj: privatelink: unverified") {
			t.Fatalf("jdbc: %+v", r)
		}
		classes := t.TempDir()
		if out, err := exec.Command(javac, "-d", classes, filepath.Join("testdata", "clients", "JdbcConnect.java")).CombinedOutput(); err != nil {
			t.Fatalf("javac: %v\n%s", err, out)
		}
		hosts := writeFile(t, dir, "java-hosts", "127.0.0.1 "+plVPCE+"\n")
		before := dj.Stats()
		cmd := exec.Command(java, "-Djdk.net.hosts.file="+hosts, "-cp", classes+string(os.PathListSeparator)+jar, "JdbcConnect", strings.TrimSpace(r.stdout))
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8"}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "admin|postgres|") {
			t.Fatalf("pgjdbc: %v\n%s", err, out)
		}
		s := dj.Stats()
		if s.Accepted-before.Accepted != 1 || s.Endpoints[len(s.Endpoints)-1] != plVPCE || !strings.HasPrefix(s.Tokens[len(s.Tokens)-1], dj.Host+"?") {
			t.Errorf("pgjdbc: accepted %d, SNI %v, want 1 session reached as %s with a token for %s", s.Accepted-before.Accepted, s.Endpoints, plVPCE, dj.Host)
		}
	})
	t.Run("proxy refuses", func(t *testing.T) {
		r := runBin(t, append(env, "XDG_RUNTIME_DIR="+t.TempDir()), "proxy", "un")
		if r.code != 1 || !strings.Contains(r.stderr, "proxy un: privatelink: unverified: the proxy verifies the cluster's certificate") {
			t.Errorf("proxy: %+v", r)
		}
		if strings.Contains(r.stderr, "warning:") {
			t.Errorf("proxy warns about the route it then refuses to take:\n%s", r.stderr)
		}
	})
}
