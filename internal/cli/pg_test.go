package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// localProfiles writes a profiles file for a server on localhost:port whose certificate
// caFile signed (the DSQL double's, or PostgreSQL's own): admin and a custom role, both
// verify-full against that CA, plus one that trusts a different CA.
func localProfiles(t *testing.T, port int, caFile string) string {
	other := testkit.NewCA(t, "some other CA")
	otherFile := writeFile(t, t.TempDir(), "other-ca.pem", string(other.CertPEM))
	return writeFile(t, t.TempDir(), "profiles.yaml", fmt.Sprintf(`defaults:
  region: us-east-1
  port: %d
  sslrootcert: %s
profiles:
  local:
    endpoint: localhost
  local-app:
    endpoint: localhost
    user: app_rw
    application_name: dsqlenv-test
  local-wrongca:
    endpoint: localhost
    sslrootcert: %s
`, port, caFile, otherFile))
}

// TestPsqlConnectsWithEvaluatedBlock is the user's flow against the DSQL double, which checks
// the token as DSQL does: evaluate the block in a real shell, then run psql with nothing but
// the environment it set. The double accepting the session is what proves the token valid
// (signature, host, region, action for the role, expiry), not only that it arrived.
func TestPsqlConnectsWithEvaluatedBlock(t *testing.T) {
	d, cfg := startDoubleForLocal(t) // the double stands for localhost in us-east-1
	query := `psql -X -At -F '|' -c "select current_user, current_setting('application_name')"`
	run := func(shell, profile string, extraEnv ...string) (string, error) {
		t.Helper()
		dialect := map[string]string{"dash": "sh"}[shell]
		if dialect == "" {
			dialect = shell
		}
		args := []string{"-c", `eval "$("$BIN" ` + dialect + ` ` + profile + `)" || exit 1; ` + query}
		if shell == "fish" {
			args = []string{"--no-config", "-c", `"$BIN" fish ` + profile + ` | source; or exit 1; ` + query}
		}
		cmd := exec.Command(testkit.RequireTool(t, shell), args...)
		cmd.Env = append(awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "BIN="+binPath), extraEnv...)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	accepted := func() int { return d.Stats().Accepted }
	for _, shell := range []string{"bash", "zsh", "dash", "fish"} {
		t.Run(shell, func(t *testing.T) {
			before := accepted()
			if out, err := run(shell, "local"); err != nil || out != "admin|psql" {
				t.Fatalf("psql as admin: %v\n%s", err, out)
			}
			if out, err := run(shell, "local-app"); err != nil || out != "app_rw|dsqlenv-test" {
				t.Fatalf("psql as app_rw: %v\n%s", err, out)
			}
			if got := accepted() - before; got != 2 {
				t.Errorf("the double accepted %d sessions, want 2", got)
			}
		})
	}
	t.Run("a different CA fails verify-full", func(t *testing.T) {
		before := d.Stats()
		out, err := run("bash", "local-wrongca")
		if err == nil || !strings.Contains(out, "certificate verify failed") || d.Stats().Accepted != before.Accepted || len(d.Stats().Tokens) != len(before.Tokens) {
			t.Fatalf("want a certificate failure before any token is sent, got %v\n%s", err, out)
		}
	})
	t.Run("a stale PGSERVICE and PGHOSTADDR do not redirect", func(t *testing.T) {
		if out, err := run("bash", "local", "PGSERVICE=nonexistent", "PGHOSTADDR=127.0.0.2"); err != nil || out != "admin|psql" {
			t.Fatalf("%v\n%s", err, out)
		}
	})
	// Last, since the double's clock stays moved: 16 minutes on, by the double's reckoning, a
	// freshly minted 15-minute token is as old as one minted before a coffee break.
	t.Run("a token 16 minutes old is refused", func(t *testing.T) {
		d.Advance(16 * time.Minute)
		if out, err := run("bash", "local"); err == nil || !strings.Contains(out, "Signature expired") {
			t.Fatalf("want the double's Signature expired, got %v\n%s", err, out)
		}
	})
}

func runPsql(t *testing.T, env []string, args ...string) (string, error) {
	cmd := exec.Command("psql", append([]string{"-X", "-At", "-F", "|"}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// startDoubleForLocal is PostgreSQL 18 with the roles of localProfiles behind a DSQL double
// standing for localhost, and a profiles file for the double.
func startDoubleForLocal(t *testing.T) (*testkit.DSQL, string) {
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18})
	pg.SQL(t, "CREATE ROLE admin LOGIN; CREATE ROLE app_rw LOGIN")
	d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{Host: "localhost"})
	return d, localProfiles(t, d.Port, d.CAFile)
}

// TestServiceFileWithPGPASSWORD: psql with service=NAME from `dsqlenv service` and the token
// of `dsqlenv token` in PGPASSWORD logs in through the DSQL double, which takes the token as
// valid; the service file holds no password. The token of another role is refused, as DSQL
// refuses a DbConnectAdmin token for a role that is not admin.
func TestServiceFileWithPGPASSWORD(t *testing.T) {
	d, cfg := startDoubleForLocal(t)
	svc := filepath.Join(t.TempDir(), "pg_service.conf")
	env := awsEnv(t, true, "DSQLENV_CONFIG="+cfg)
	if r := runBin(t, env, "service", "--file", svc, "local", "local-app"); r.code != 0 || r.stdout != "" {
		t.Fatalf("service: %+v", r)
	}
	token := strings.TrimSpace(runBin(t, env, "token", "local-app").stdout)
	before := d.Stats()
	out, err := runPsql(t, []string{"PATH=" + os.Getenv("PATH"), "PGSERVICEFILE=" + svc, "PGPASSWORD=" + token},
		"service=local-app", "-c", "select current_user, current_setting('application_name')")
	if err != nil || out != "app_rw|dsqlenv-test" {
		t.Fatalf("psql service=local-app: %v\n%s", err, out)
	}
	sessions(t, d, "psql service=local-app", before, 1)
	if s := d.Stats(); s.Tokens[len(s.Tokens)-1] != token {
		t.Errorf("the double was not sent the token dsqlenv minted")
	}
	data, _ := os.ReadFile(svc)
	if strings.Contains(string(data), "password") || strings.Contains(string(data), "X-Amz") {
		t.Errorf("the service file holds a password:\n%s", data)
	}

	admin := strings.TrimSpace(runBin(t, env, "token", "local").stdout)
	before = d.Stats()
	out, err = runPsql(t, []string{"PATH=" + os.Getenv("PATH"), "PGSERVICEFILE=" + svc, "PGPASSWORD=" + admin}, "service=local-app", "-c", "select 1")
	if err == nil || !strings.Contains(out, "access denied") || !strings.Contains(out, "Wrong user to action mapping. user: app_rw, action: DbConnectAdmin") {
		t.Errorf("psql service=local-app with admin's token: %v\n%s", err, out)
	}
	refusedBy(t, d, "admin's token for app_rw", before, "wrong user to action mapping")
}

// TestPgpassAndServicePassfileConnectWithNothingInTheEnvironment: the password file of
// `dsqlenv pgpass` and a service file naming it are all psql needs; the double takes the token
// as valid, and 16 minutes on, by its clock, refuses it as expired.
func TestPgpassAndServicePassfileConnectWithNothingInTheEnvironment(t *testing.T) {
	d, cfg := startDoubleForLocal(t)
	dir := t.TempDir()
	svc, pass := filepath.Join(dir, "pg_service.conf"), filepath.Join(dir, "pgpass")
	env := awsEnv(t, true, "DSQLENV_CONFIG="+cfg)
	r := runBin(t, env, "pgpass", "--file", pass, "local")
	if r.code != 0 || !strings.Contains(r.stderr, "wrote 1 token(s) to "+pass) || !strings.Contains(r.stderr, "note: run dsqlenv pgpass --min-valid 5m every minute") {
		t.Fatalf("pgpass: %+v", r)
	}
	st, _ := os.Stat(pass)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("pgpass mode %v, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(pass)
	fields := strings.SplitN(strings.TrimSpace(string(data)), ":", 5)
	if len(fields) != 5 || fields[0] != "localhost" || fields[1] != strconv.Itoa(d.Port) || fields[2] != "postgres" || fields[3] != "admin" {
		t.Fatalf("pgpass line: %q", data)
	}
	if r := runBin(t, env, "service", "--file", svc, "--passfile", pass, "local"); r.code != 0 {
		t.Fatalf("service: %+v", r)
	}
	psqlEnv := []string{"PATH=" + os.Getenv("PATH"), "PGSERVICEFILE=" + svc}
	before := d.Stats()
	out, err := runPsql(t, psqlEnv, "service=local", "-c", "select current_user")
	if err != nil || out != "admin" {
		t.Fatalf("psql service=local with passfile: %v\n%s", err, out)
	}
	sessions(t, d, "psql service=local with passfile", before, 1)

	d.Advance(16 * time.Minute)
	before = d.Stats()
	if out, err := runPsql(t, psqlEnv, "service=local", "-c", "select current_user"); err == nil || !strings.Contains(out, "Signature expired") {
		t.Errorf("psql service=local with a token 16 minutes old: %v\n%s", err, out)
	}
	refusedBy(t, d, "a token 16 minutes old", before, "signature expired")
}
