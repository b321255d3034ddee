//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// TestOnlyRegularFilesAreReadOrWritten: a FIFO, a device or a huge file as the profiles file,
// the service file or the password file fails at once with a message, and is left as it was.
func TestOnlyRegularFilesAreReadOrWritten(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  ok:\n    endpoint: "+matrixEndpoint+"\n")
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	dev := filepath.Join(dir, "null")
	if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, int(1<<8|3)); err != nil {
		if testkit.InCI() {
			t.Fatalf("mknod: %v (CI runs the tests as root)", err)
		}
		t.Skipf("mknod needs root: %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	os.WriteFile(big, []byte("profiles:\n"+strings.Repeat("# padding padding padding padding\n", 130000)), 0o600)
	dangling := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(dir, "nonexistent", "dir", "x"), dangling)
	env := awsEnv(t, true)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", fifo, "bash", "ok"}, "is a FIFO, not a regular file"},
		{[]string{"--config", "/dev/zero", "bash", "ok"}, "is a character device, not a regular file"},
		{[]string{"--config", big, "list"}, "over the 4 MiB a profiles file may have"},
		{[]string{"--config", cfg, "service", "--file", fifo, "ok"}, "it is a FIFO, not a regular file"},
		{[]string{"--config", cfg, "service", "--file", dev, "ok"}, "it is a character device, not a regular file"},
		{[]string{"--config", cfg, "pgpass", "--file", dev, "ok"}, "it is a character device, not a regular file"},
		{[]string{"--config", cfg, "pgpass", "--file", fifo, "ok"}, "it is a FIFO, not a regular file"},
		{[]string{"--config", cfg, "service", "--file", dangling, "ok"}, "nonexistent"},
	} {
		start := time.Now()
		r := runBin(t, env, tc.args...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, r.code, r.stderr, tc.want)
		}
		if d := time.Since(start); d > 30*time.Second { // a blocked open would never end: slack for a loaded machine
			t.Errorf("%v took %s", tc.args, d)
		}
	}
	if st, err := os.Stat(dev); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("the device was replaced: %v %v", st.Mode(), err)
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nonexistent")); err == nil {
		t.Error("a dangling link's directories were created")
	}
}
