//go:build unix

package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
