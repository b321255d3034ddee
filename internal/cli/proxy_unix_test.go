//go:build unix

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestProxyOnWindowsUnderWine runs TestWindowsProxyOverTCP, in the Windows test binary that
// .ci/wintest built and names in DSQLENV_WINTEST_CLI, under wine (.ci/wine), against a DSQL
// double and PostgreSQL 18 started here: wine's sockets are Linux sockets, so the Windows
// proxy reaches the double on 127.0.0.1. Then it checks what only the double saw: every
// session the Windows proxy opened brought a token of its own.
func TestProxyOnWindowsUnderWine(t *testing.T) {
	exe := os.Getenv("DSQLENV_WINTEST_CLI")
	if exe == "" {
		t.Skip("run by .ci/wintest, which builds the Windows test binary and names it in DSQLENV_WINTEST_CLI")
	}
	d, _ := dsqlBehindProxy(t, "")
	// wine's drive Z: is the Linux root.
	ca := "Z:" + strings.ReplaceAll(d.CAFile, "/", `\`)
	cmd := exec.Command(filepath.Join("..", "..", ".ci", "wine"), exe, "-test.run", "^TestWindowsProxyOverTCP$", "-test.v", "-test.timeout", "10m")
	cmd.Env = append(os.Environ(), "DSQLENV_TEST_DSQL_PORT="+strconv.Itoa(d.Port), "DSQLENV_TEST_DSQL_REGION="+d.Region, "DSQLENV_TEST_DSQL_CA="+ca)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestWindowsProxyOverTCP") {
		t.Fatalf("the Windows test under wine: %v\n%s", err, out)
	}
	st := d.Stats()
	seen := map[string]bool{}
	for _, tk := range st.Tokens {
		if seen[tk] {
			t.Errorf("two sessions of the Windows proxy brought the same token")
		}
		seen[tk] = true
	}
	if st.Accepted < 2 || len(seen) < st.Accepted {
		t.Errorf("the double accepted %d sessions with %d different tokens; want 2 or more, each with its own", st.Accepted, len(seen))
	}
}
