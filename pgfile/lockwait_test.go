//go:build unix

package pgfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUpdateGivesUpOnAHeldLock: a writer holding the directory's lock (anyone who can read a
// home directory can) makes Update fail after LockWait, not wait for ever.
func TestUpdateGivesUpOnAHeldLock(t *testing.T) {
	dir := t.TempDir()
	held, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := syscall.Flock(int(held.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer func(old time.Duration) { LockWait = old }(LockWait)
	LockWait = 300 * time.Millisecond
	start := time.Now()
	_, err = Edit(filepath.Join(dir, "f"), 0o600, func([]byte) ([]byte, error) { return []byte("x\n"), nil })
	if err == nil || !strings.Contains(err.Error(), "held the lock") || time.Since(start) > 3*time.Second {
		t.Fatalf("Update with the lock held: %v after %s", err, time.Since(start))
	}
	syscall.Flock(int(held.Fd()), syscall.LOCK_UN)
	if _, err := Edit(filepath.Join(dir, "f"), 0o600, func([]byte) ([]byte, error) { return []byte("x\n"), nil }); err != nil {
		t.Fatalf("Update once the lock is free: %v", err)
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
		got, err := MergePass([]byte(tc.old), []PassEntry{e})
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
