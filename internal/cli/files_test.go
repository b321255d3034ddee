//go:build unix

package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// homeEnv is an in-process environment whose home is a fresh directory at 0755, as a real
// one often is (every local user can read it), with the XDG directories under it not made yet.
func homeEnv(t *testing.T) (*Env, string) {
	t.Helper()
	home, err := os.MkdirTemp("", "dsqlenv-home-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	os.Chmod(home, 0o755)
	e := testEnv(fixedMint)
	e.Paths = Paths{
		Home:       home,
		ConfigHome: filepath.Join(home, ".config"),
		DataHome:   filepath.Join(home, ".local", "share"),
		StateHome:  filepath.Join(home, ".local", "state"),
	}
	return e, home
}

// The commands that write a file: a profile added, a service section, a password line, the
// roots a block names.
var writingCommands = [][]string{
	{"add", "new1", "--cluster", "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws", "--no-check"},
	{"service", "new1"},
	{"pgpass", "new1"},
	{"bash", "new1"},
}

// TestDirectoriesDsqlenvMakesArePrivate: every directory dsqlenv makes for its own files (the
// profiles file's, the state directory with the password file and the locks, the data
// directory with the roots) is 0700, as the XDG Base Directory Specification asks.
func TestDirectoriesDsqlenvMakesArePrivate(t *testing.T) {
	e, home := homeEnv(t)
	if r := runEnv(t, e, "init"); r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	os.Remove(filepath.Join(e.Paths.ConfigHome, "dsqlenv", "profiles.yaml")) // add writes it again
	for _, args := range writingCommands {
		if r := runEnv(t, e, args...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	var dirs int
	filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || path == home {
			return err
		}
		dirs++
		if st, err := os.Lstat(path); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want 0700 (%v)", path, st.Mode().Perm(), err)
		}
		return nil
	})
	if dirs < 7 { // .config, .config/dsqlenv, .local, share, share/dsqlenv, state, state/dsqlenv
		t.Errorf("only %d directories under %s", dirs, home)
	}
}

// TestOthersCannotHoldTheCommandsLocks: any local user can open a home directory at 0755, and
// a directory made 0755 inside it, and flock it. A command that writes there must not wait
// for them: before, add, service and pgpass (and proxy --listen, which writes ~/.pgpass) gave
// up after 10 s, and a systemd unit's proxy never started.
func TestOthersCannotHoldTheCommandsLocks(t *testing.T) {
	e, home := homeEnv(t)
	var held []string // each command's directory, as a lock on the directory itself took it
	for _, dir := range []string{home, filepath.Join(e.Paths.ConfigHome, "dsqlenv"), filepath.Join(e.Paths.StateHome, "dsqlenv")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(dir) // what another user can do: open it for reading, then flock
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			t.Fatal(err)
		}
		held = append(held, dir)
	}
	profiles := "profiles:\n  new1:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n"
	writeFile(t, filepath.Join(e.Paths.ConfigHome, "dsqlenv"), "profiles.yaml", profiles)
	for _, args := range [][]string{
		{"add", "new2", "--cluster", "bcdefghijklmnopqrstuvwxyza.dsql.us-east-1.on.aws", "--no-check"},
		{"service", "new1"},
		{"pgpass", "new1"},
	} {
		if r := runEnv(t, e, args...); r.code != 0 {
			t.Errorf("%v with %v held by another: %+v", args, held, r)
		}
	}
}

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
