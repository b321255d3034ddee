//go:build unix

package cli

import (
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// TestProxyCheckLogsInAtStart: --check logs in to the double once per profile before serving;
// failing credentials, a role the cluster does not know and a cluster that is down each end
// the start with status 1 and the fix, before any client comes.
func TestProxyCheckLogsInAtStart(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18})
	pg.SQL(t, "CREATE ROLE admin LOGIN")
	d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{Host: "localhost"})
	dir := t.TempDir()
	awsCfg := writeFile(t, dir, "aws-config", "[profile broken]\ncredential_process = sh -c 'echo the SSO session has expired >&2; exit 3'\n")
	closed := testkit.FreePort(t)
	cfg := writeFile(t, dir, "p.yaml", fmt.Sprintf(`defaults:
  region: us-east-1
  sslrootcert: %[2]s
  port: %[1]d
profiles:
  p:
    endpoint: localhost
  q:
    endpoint: localhost
  nocreds:
    endpoint: localhost
    aws_profile: broken
  ghost:
    endpoint: localhost
    user: ghost
  down:
    endpoint: localhost
    port: %[3]d
`, d.Port, d.CAFile, closed))
	env := awsEnv(t, true, "XDG_RUNTIME_DIR="+t.TempDir(), "DSQLENV_CONFIG="+cfg, "AWS_CONFIG_FILE="+awsCfg)

	p := startProxy(t, env, 4, "--check", "p", "q")
	if st := d.Stats(); st.Accepted != 2 {
		t.Errorf("--check opened %d sessions at the double, want one per profile (2): %+v", st.Accepted, st)
	}
	for _, profile := range []string{"p", "q"} {
		if !strings.Contains(p.log(), "proxy "+profile+": --check: logged in to the cluster as admin") {
			t.Errorf("no --check line for %s:\n%s", profile, p.log())
		}
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}

	for _, tc := range []struct {
		profile string
		want    []string
	}{
		{"nocreds", []string{"proxy nocreds: --check: logging in as admin", "credential_process", "the SSO session has expired", "AWS profile broken"}},
		{"ghost", []string{"proxy ghost: --check: logging in as ghost", "the cluster refused the login", `role "ghost" does not exist`}},
		{"down", []string{"proxy down: --check: logging in as admin", fmt.Sprintf("cannot connect to localhost:%d", closed), "refused", "Check that the cluster endpoint is right"}},
	} {
		before := d.Stats().Accepted
		r := proxyAtStart(t, env, "--check", "p", tc.profile)
		if r.code != 1 || r.stdout != "" {
			t.Errorf("--check %s: %+v, want status 1 and nothing on stdout", tc.profile, r)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("--check %s: the error lacks %q:\n%s", tc.profile, w, r.stderr)
			}
		}
		if strings.Contains(r.stderr, "dsqlenv: dsqlenv") || strings.Contains(r.stderr, "psql \"host=") {
			t.Errorf("--check %s: a repeated prefix, or a line saying how to connect to a proxy that did not start:\n%s", tc.profile, r.stderr)
		}
		if got := d.Stats().Accepted - before; got > 1 {
			t.Errorf("--check p %s opened %d sessions, want at most p's", tc.profile, got)
		}
	}
}
