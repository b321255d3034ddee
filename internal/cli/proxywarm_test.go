//go:build unix

package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestProxyWarm: `proxy --warm 1` opens a session ahead after the first client of a startup,
// and hands it to the next client of that startup, with no new connection to the double
// while that client connects; SIGTERM closes it.
func TestProxyWarm(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	d, cfg := dsqlBehindProxy(t, "")
	runtime := t.TempDir()
	env := awsEnv(t, true, "XDG_RUNTIME_DIR="+runtime, "DSQLENV_CONFIG="+cfg)
	p := startProxy(t, env, 1, "--warm", "1", "--warm-age", "10m", "p")
	conninfo := "host=" + filepath.Join(runtime, "dsqlenv", "p") + " user=admin dbname=postgres application_name=warmcli"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	first, err := pgconn.Connect(ctx, conninfo)
	if err != nil {
		t.Fatalf("first client: %v\n%s", err, p.log())
	}
	defer first.Close(ctx)
	// waitOpened waits for the nth session opened ahead to be ready.
	waitOpened := func(n int) {
		t.Helper()
		ready := `user="admin" database="postgres" application_name="warmcli" warm="opened"`
		for deadline := time.Now().Add(30 * time.Second); strings.Count(p.log(), ready) < n; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d warm sessions opened in 30 s, not %d:\n%s", strings.Count(p.log(), ready), n, p.log())
			}
		}
	}
	waitOpened(1)
	accepted := d.Stats().Accepted
	second, err := pgconn.Connect(ctx, conninfo)
	if err != nil {
		t.Fatalf("second client: %v\n%s", err, p.log())
	}
	// Its arrival opens the next one, in the background; the session it got was open before.
	if got := d.Stats().Accepted; got > accepted+1 {
		t.Errorf("the double accepted %d sessions while the second client connected; want at most the one opened ahead for the next", got-accepted)
	}
	if _, err := second.Exec(ctx, "select 1").ReadAll(); err != nil {
		t.Fatal(err)
	}
	second.Close(ctx)
	first.Close(ctx)
	waitOpened(2)
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit status %d after SIGTERM:\n%s", code, p.log())
	}
	if !strings.Contains(p.log(), `application_name="warmcli" warm="closed: the proxy is shutting down"`) {
		t.Errorf("no warm session closed at the drain:\n%s", p.log())
	}
}

// TestProxySettingsFromProfile: `dsqlenv proxy p` with no flags takes listen and warm from
// the profile's proxy: block and drain from the defaults' one; flags win over them; the
// start-up lines say what it took.
func TestProxySettingsFromProfile(t *testing.T) {
	t.Parallel() // its own servers, proxy and directories; mostly waiting on them
	_, cfg := dsqlBehindProxy(t, "")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cfg, []byte("defaults:\n  proxy:\n    drain: 0s\n"+string(data)+"    proxy:\n      listen: 127.0.0.1:0\n      warm: 1\n"), 0o600)
	runtime := t.TempDir()
	env := awsEnv(t, true, "XDG_RUNTIME_DIR="+runtime, "PGPASSFILE="+filepath.Join(t.TempDir(), "pgpass"), "DSQLENV_CONFIG="+cfg)
	conninfo := "host=" + filepath.Join(runtime, "dsqlenv", "p") + " user=admin dbname=postgres application_name=fromprofile"
	opened := `application_name="fromprofile" warm="opened"`
	for _, tc := range []struct {
		flags   []string
		warm    int
		started string
		waited  string
	}{
		{nil, 1, "proxy p: warm 1, warm age 2m, drain 0s\n", "waiting up to 0s for open sessions"},
		{[]string{"--warm", "2", "--drain", "7s"}, 2, "proxy p: warm 2, warm age 2m, drain 7s\n", "waiting up to 7s for open sessions"},
	} {
		// Five start-up lines: the socket's and TCP's psql lines, JDBC's, the TCP endpoint's,
		// and last the settings line this test reads.
		p := startProxy(t, env, 5, append(tc.flags, "p")...)
		if tcpLine.FindString(p.log()) == "" {
			t.Fatalf("%v: no TCP endpoint from the profile's listen:\n%s", tc.flags, p.log())
		}
		if !strings.Contains(p.log(), tc.started) {
			t.Errorf("%v: the start-up lines lack %q:\n%s", tc.flags, tc.started, p.log())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		c, err := pgconn.Connect(ctx, conninfo)
		if err != nil {
			t.Fatalf("%v: %v\n%s", tc.flags, err, p.log())
		}
		c.Close(ctx)
		cancel()
		for deadline := time.Now().Add(30 * time.Second); strings.Count(p.log(), opened) < tc.warm; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%v: %d warm sessions opened in 30 s, not %d:\n%s", tc.flags, strings.Count(p.log(), opened), tc.warm, p.log())
			}
		}
		if code := p.stop(t, syscall.SIGTERM); code != 0 || !strings.Contains(p.log(), tc.waited) {
			t.Errorf("%v: exit %d, want 0 and %q:\n%s", tc.flags, code, tc.waited, p.log())
		}
	}
}
