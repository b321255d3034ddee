package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestProxyPassKeepsTheUsersOwnLine: a line of the user's own for the proxy's host:port:*:*
// stays, behind the proxy's lines (libpq takes the first match), and is not taken back when
// a later run moves to another port; the proxy's old lines are.
func TestProxyPassKeepsTheUsersOwnLine(t *testing.T) {
	dir := t.TempDir()
	passfile := filepath.Join(dir, ".pgpass")
	locks := filepath.Join(dir, "locks")
	os.WriteFile(passfile, []byte("# mine\nlocalhost:6432:*:*:theirpw\n"), 0o600)
	if err := writeProxyPass(locks, passfile, "6432", "pw1"); err != nil {
		t.Fatal(err)
	}
	want := "localhost:6432:*:*:pw1\n127.0.0.1:6432:*:*:pw1\n\\:\\:1:6432:*:*:pw1\n# mine\nlocalhost:6432:*:*:theirpw\n"
	if got, _ := os.ReadFile(passfile); string(got) != want {
		t.Errorf("after the proxy on 6432:\n%s\nwant\n%s", got, want)
	}
	if err := writeProxyPass(locks, passfile, "6432", "pw1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(passfile); string(got) != want {
		t.Errorf("after the proxy on 6432 again:\n%s\nwant\n%s", got, want)
	}
	if err := writeProxyPass(locks, passfile, "7000", "pw1"); err != nil {
		t.Fatal(err)
	}
	want = "# mine\nlocalhost:6432:*:*:theirpw\nlocalhost:7000:*:*:pw1\n127.0.0.1:7000:*:*:pw1\n\\:\\:1:7000:*:*:pw1\n"
	if got, _ := os.ReadFile(passfile); string(got) != want {
		t.Errorf("after the proxy moved to 7000:\n%s\nwant\n%s", got, want)
	}
}
