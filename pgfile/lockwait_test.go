//go:build unix

package pgfile

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// writeX is the change the lock tests make.
func writeX([]byte) ([]byte, error) { return []byte("x\n"), nil }

// TestUpdateGivesUpOnAHeldLock: another dsqlenv run of the user holding the lock of the same
// directory, here named through a link to it, makes Edit fail after LockWait, not wait for
// ever, with the lock file and how to find its holder; once it is free Edit goes through.
func TestUpdateGivesUpOnAHeldLock(t *testing.T) {
	dir, locks := t.TempDir(), testLocks(t)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	release, err := lock(locks, link)
	if err != nil {
		t.Fatal(err)
	}
	defer func(old time.Duration) { LockWait = old }(LockWait)
	LockWait = 300 * time.Millisecond
	start := time.Now()
	_, err = Edit(locks, filepath.Join(dir, "f"), 0o600, writeX)
	files, _ := filepath.Glob(filepath.Join(locks, "*.lock"))
	if len(files) != 1 {
		t.Fatalf("lock files %v, want one for the directory however it is named", files)
	}
	for p, want := range map[string]os.FileMode{locks: 0o700, files[0]: 0o600} {
		if st, err := os.Lstat(p); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v, want mode %04o", p, err, want)
		}
	}
	// No wall-clock bound tighter than 10 s: the point is that it returns at all.
	if err == nil || !strings.Contains(err.Error(), "another dsqlenv run has held the lock "+files[0]+" for over 300ms; find it with: fuser -v "+files[0]) || time.Since(start) > LockWait+10*time.Second {
		t.Fatalf("Edit with the lock held: %v after %s", err, time.Since(start))
	}
	release()
	if _, err := Edit(locks, filepath.Join(dir, "f"), 0o600, writeX); err != nil {
		t.Fatalf("Edit once the lock is free: %v", err)
	}
	if _, err := os.Lstat(locks); err == nil {
		t.Errorf("%s is left behind", locks)
	}
}

// TestOthersCannotHoldTheLock: a lock on anything another local user can open would let that
// user stop every dsqlenv write in the directory (a home at 0755: the service file, ~/.pgpass
// that proxy --listen writes). Holding the directory itself, as any reader of it can, no
// longer blocks Edit; and as root, the user nobody can neither hold the directory against
// Edit nor open the lock file or its directory.
func TestOthersCannotHoldTheLock(t *testing.T) {
	home, err := os.MkdirTemp("", "pgfile-home-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(home)
	os.Chmod(home, 0o755) // a home directory every local user can read
	path := filepath.Join(home, ".pg_service.conf")
	locks := filepath.Join(home, ".local", "state", "dsqlenv", "locks")

	held, err := os.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := syscall.Flock(int(held.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if _, err := Edit(locks, path, 0o600, mergeProd); err != nil {
		t.Errorf("Edit with the home directory held by a reader: %v", err)
	}
	held.Close()

	t.Run("another user", func(t *testing.T) {
		if os.Geteuid() != 0 {
			if testkit.InCI() {
				t.Fatal("running as another user needs root (CI runs the tests as root)")
			}
			t.Skip("running as another user needs root")
		}
		flock := testkit.RequireTool(t, "flock")
		nobody := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		// nobody holds the home directory until its stdin closes.
		hold := exec.Command(flock, "--exclusive", home, "sh", "-c", "echo held; exec cat")
		hold.SysProcAttr = nobody
		stdin, _ := hold.StdinPipe()
		out, _ := hold.StdoutPipe()
		if err := hold.Start(); err != nil {
			t.Fatal(err)
		}
		defer hold.Wait()
		defer stdin.Close()
		if line, _ := bufio.NewReader(out).ReadString('\n'); line != "held\n" {
			t.Fatalf("nobody did not take the lock on %s: %q", home, line)
		}
		if _, err := Edit(locks, path, 0o600, func(b []byte) ([]byte, error) { return append(b, "# again\n"...), nil }); err != nil {
			t.Fatalf("Edit with the home directory held by another user: %v", err)
		}
		// While dsqlenv holds the lock, nobody can open the lock file or its directory.
		release, err := lock(locks, home)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		files, _ := filepath.Glob(filepath.Join(locks, "*.lock"))
		for _, f := range append(files, locks) {
			try := exec.Command(flock, "--exclusive", "--nonblock", f, "true")
			try.SysProcAttr = nobody
			if out, err := try.CombinedOutput(); err == nil || !strings.Contains(string(out), "Permission denied") {
				t.Errorf("nobody could lock %s: %v %s", f, err, out)
			}
		}
		if len(files) != 1 {
			t.Errorf("lock files %v, want one", files)
		}
	})
}

// TestPlantedLockDirectoryIsRefused: a lock directory that is a link, that others can open,
// or that belongs to someone else could let them hold the lock, or swap the lock file: Edit
// refuses it, says why and how to fix it, and writes nothing.
func TestPlantedLockDirectoryIsRefused(t *testing.T) {
	type plant struct {
		name  string
		make  func(locks string) error
		want  string
		owner bool // needs root
	}
	for _, p := range []plant{
		{"link", func(locks string) error { return os.Symlink(t.TempDir(), locks) }, "is a symbolic link", false},
		{"file", func(locks string) error { return os.WriteFile(locks, nil, 0o600) }, "is a regular file", false},
		{"open to all", func(locks string) error { os.Mkdir(locks, 0o700); return os.Chmod(locks, 0o777) }, "can be opened by others (mode 0777)", false},
		{"open to the group", func(locks string) error { os.Mkdir(locks, 0o700); return os.Chmod(locks, 0o750) }, "can be opened by others (mode 0750)", false},
		{"another owner", func(locks string) error { os.Mkdir(locks, 0o700); return os.Chown(locks, 65534, 65534) }, "belongs to uid 65534, not to you (uid 0)", true},
	} {
		t.Run(p.name, func(t *testing.T) {
			if p.owner && os.Geteuid() != 0 {
				if testkit.InCI() {
					t.Fatal("chown needs root (CI runs the tests as root)")
				}
				t.Skip("chown needs root")
			}
			dir := t.TempDir()
			locks := filepath.Join(dir, "locks")
			if err := p.make(locks); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "svc")
			_, err := Edit(locks, path, 0o600, mergeProd)
			if err == nil || !strings.Contains(err.Error(), "the lock directory "+locks+" "+p.want+": it must be a directory of your own that no one else can open; remove it") {
				t.Errorf("Edit with a planted lock directory: %v", err)
			}
			if _, err := os.Lstat(path); err == nil {
				t.Error("the file was written")
			}
		})
	}
}

// TestMergePassGoesBeforeAWildcard: libpq uses the first matching line, so a token written
// after `*:*:*:*:pw` would never be used.
func TestMergePassGoesBeforeAWildcard(t *testing.T) {
	e := PassEntry{Host: "h", Port: "5432", Database: "postgres", User: "admin", Password: "tok"}
	for _, tc := range []struct{ old, want string }{
		{"*:*:*:*:wild\n", "h:5432:postgres:admin:tok\n*:*:*:*:wild\n"},
		{"other:1:d:u:p\nh:*:*:admin:wild\nh:5432:postgres:admin:old\n", "other:1:d:u:p\nh:5432:postgres:admin:tok\nh:*:*:admin:wild\n"},
		{"h:5432:postgres:admin:old\n*:*:*:*:wild\n", "h:5432:postgres:admin:tok\n*:*:*:*:wild\n"},
		{"# mine\nx:1:d:u:p\n", "# mine\nx:1:d:u:p\nh:5432:postgres:admin:tok\n"},
	} {
		got, err := MergePass([]byte(tc.old), []PassEntry{e}, nil)
		if err != nil || string(got) != tc.want {
			t.Errorf("MergePass(%q) = %q, want %q (%v)", tc.old, got, tc.want, err)
		}
		// What libpq would read: the first matching line.
		for _, p := range ParsePass(got) {
			if passMatches([]string{p.Host, p.Port, p.Database, p.User}, e) {
				if p.Password != "tok" {
					t.Errorf("libpq would use %q from %q", p.Password, got)
				}
				break
			}
		}
	}
}
