//go:build unix

package pgfile

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
	"golang.org/x/sys/unix"
)

// mknodNull makes a character device like /dev/null (1,3) in the test's own directory, so
// that a broken writer replaces the test's device, not the machine's. It needs root, which
// CI has; elsewhere the test is skipped without it.
func mknodNull(t *testing.T, path string) {
	t.Helper()
	if err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		if testkit.InCI() {
			t.Fatalf("mknod %s: %v (CI runs the tests as root)", path, err)
		}
		t.Skipf("mknod needs root: %v", err)
	}
}

// updateWithin runs Update and fails the test if it takes a minute: a FIFO opened for
// reading or writing would block forever, and a loaded machine may take seconds.
func updateWithin(t *testing.T, path string) error {
	t.Helper()
	locks := testLocks(t)
	done := make(chan error, 1)
	go func() {
		_, err := Edit(locks, path, 0o600, mergeProd)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("Edit(%s) still running after a minute", path)
		return nil
	}
}

func TestOnlyRegularFilesAreWritten(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "null")
	mknodNull(t, dev)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sub := filepath.Join(dir, "dir")
	os.Mkdir(sub, 0o700)
	for _, tc := range []struct{ name, target, kind string }{
		{"device", dev, "a character device"},
		{"fifo", fifo, "a FIFO"},
		{"socket", sock, "a socket"},
		{"directory", sub, "a directory"},
	} {
		for _, linked := range []bool{false, true} {
			path := tc.target
			if linked {
				path = filepath.Join(dir, "link-to-"+tc.name)
				os.Symlink(filepath.Base(tc.target), path)
			}
			before, _ := os.Lstat(tc.target)
			err := updateWithin(t, path)
			var nr *NotRegularError
			if !errors.As(err, &nr) || nr.Kind != tc.kind {
				t.Errorf("%s (linked %v): err %v, want %s refused", tc.name, linked, err, tc.kind)
				continue
			}
			want := "cannot write " + path + ": it is " + tc.kind + ", not a regular file"
			if linked {
				want = "cannot write " + path + " (a symbolic link to " + tc.target + "): it is " + tc.kind
			}
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("message %q, want it to start %q", err, want)
			}
			if after, _ := os.Lstat(tc.target); after == nil || after.Mode() != before.Mode() || !os.SameFile(before, after) {
				t.Errorf("%s (linked %v) was replaced: %v", tc.name, linked, after)
			}
		}
	}
	// WritePass goes through the same checks.
	if _, err := WritePass(testLocks(t), dev, []PassEntry{{Host: "h", Port: "5432", Database: "postgres", User: "admin", Password: "token"}}, nil); !errors.As(err, new(*NotRegularError)) {
		t.Errorf("WritePass to a device: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// TestDanglingLinkCreatesNoDirectory: a link into a directory that does not exist is an
// error, not a reason to create the directory; a link into one that exists is written
// through, as a link to an existing file is.
func TestDanglingLinkCreatesNoDirectory(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nonexistent")
	link := filepath.Join(dir, ".pg_service.conf")
	os.Symlink(filepath.Join(missing, "dir", "x"), link)
	err := updateWithin(t, link)
	if err == nil || !strings.Contains(err.Error(), "it is a symbolic link to "+filepath.Join(missing, "dir", "x")+", whose directory "+filepath.Join(missing, "dir")+" does not exist") {
		t.Errorf("err %v", err)
	}
	if _, err := os.Lstat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s was created (%v)", missing, err)
	}

	os.Mkdir(missing, 0o700)
	os.Remove(link)
	os.Symlink("nonexistent/svc", link)
	if err := updateWithin(t, link); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(filepath.Join(missing, "svc")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("target not written: %v", err)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced")
	}
}

// TestWritePassIsAlwaysPrivate: libpq ignores a password file others can read, so an old
// 0644 file ends 0600.
func TestWritePassIsAlwaysPrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pgpass")
	os.WriteFile(path, []byte("# mine\n"), 0o644)
	os.Chmod(path, 0o644)
	for range 2 {
		if _, err := WritePass(testLocks(t), path, []PassEntry{{Host: "h", Port: "5432", Database: "postgres", User: "admin", Password: "token"}}, nil); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", st.Mode().Perm())
		}
		os.Chmod(path, 0o644) // the same content a second time still tightens the mode
	}
	fresh := filepath.Join(dir, "new", "pgpass")
	if _, err := WritePass(testLocks(t), fresh, []PassEntry{{Host: "h", Port: "5432", Database: "postgres", User: "admin", Password: "token"}}, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(fresh); st.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %v, want 0600", st.Mode().Perm())
	}
	_, err := WritePass(testLocks(t), path, []PassEntry{{Host: "h", Port: "5432", Database: "postgres\n*", User: "admin", Password: "token"}}, nil)
	if b, _ := os.ReadFile(path); err == nil || strings.Contains(string(b), "postgres\n") {
		t.Errorf("a database with a line break: err %v, file %q", err, b)
	}
}

// TestRemovingFromAMissingFileCreatesNothing: `service --remove` with no service file is a
// no-op, not an empty file.
func TestRemovingFromAMissingFileCreatesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc")
	_, report, err := WriteService(testLocks(t), path, []Section{prod}, true, false)
	if err != nil || len(report.Missing) != 1 {
		t.Fatalf("err %v, report %+v", err, report)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file was created: %v", err)
	}
}
