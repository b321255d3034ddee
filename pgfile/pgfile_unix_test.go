//go:build unix

package pgfile

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReadOnlyDirectoryLeavesTheFileAlone: the write fails with a clear error and the
// original is untouched. Root ignores directory permissions, so as root the writer runs as
// the unprivileged user nobody.
func TestReadOnlyDirectoryLeavesTheFileAlone(t *testing.T) {
	if os.Getenv("PGFILE_RO_CHILD") != "" {
		locks, err := os.MkdirTemp("", "pgfile-locks-") // the lock directory is the user's own
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(locks)
		_, err = Edit(locks, os.Getenv("PGFILE_PATH"), 0o600, mergeProd)
		if err == nil {
			fmt.Println("NO ERROR")
			os.Exit(3)
		}
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "pgfile-ro-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o755)
	path := filepath.Join(ro, "svc")
	orig := "[a]\nhost=1\n"
	os.WriteFile(path, []byte(orig), 0o666)
	os.Chmod(ro, 0o555)
	defer os.Chmod(ro, 0o755)
	cmd := exec.Command(os.Args[0], "-test.run", "^TestReadOnlyDirectoryLeavesTheFileAlone$")
	cmd.Env = append(os.Environ(), "PGFILE_RO_CHILD=1", "PGFILE_PATH="+path)
	if os.Geteuid() == 0 {
		// The test binary sits in go's private build directory, which nobody cannot reach: the
		// child runs it through a descriptor opened here (fexecve's /proc/self/fd), which
		// needs only the file's own execute bit, rather than a copy of the binary.
		self, err := os.Open(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		defer self.Close()
		cmd.Path, cmd.ExtraFiles = "/proc/self/fd/3", []*os.File{self}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "cannot write "+path+": permission denied (the file is unchanged)") {
		t.Errorf("error message: %s", out)
	}
	if b, _ := os.ReadFile(path); string(b) != orig {
		t.Errorf("the file changed: %q", b)
	}
}

// TestAnotherUsersLinkInASharedDirectoryIsNotFollowed: a link that another user made in a
// sticky directory anyone can write (/tmp) is refused, as fs.protected_symlinks refuses it,
// before anything is read or written through it; the user's own link there, and another
// user's link in a directory that is not shared, are followed. Making a link another user's
// needs root.
func TestAnotherUsersLinkInASharedDirectoryIsNotFollowed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making a link that belongs to another user needs root")
	}
	home := t.TempDir()
	victim := filepath.Join(home, ".bashrc")
	const orig = "alias ls='ls -F'\n"
	os.WriteFile(victim, []byte(orig), 0o644)
	shared := t.TempDir()
	if err := os.Chmod(shared, os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(shared, "victim-pgpass")
	if err := os.Symlink(victim, planted); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(planted, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := WritePass(testLocks(t), planted, []PassEntry{{Host: "h", Port: "5432", Database: "*", User: "*", Password: "secret"}}, nil)
	if err == nil || !strings.Contains(err.Error(), planted) || !strings.Contains(err.Error(), "uid 65534") || !strings.Contains(err.Error(), "PGPASSFILE") {
		t.Errorf("WritePass through another user's link in a sticky directory: %v", err)
	}
	if _, err := ReadPass(planted); err == nil || !strings.Contains(err.Error(), planted) {
		t.Errorf("ReadPass through that link: %v", err)
	}
	// Two links deep: the refused link is named with the path it was reached from.
	mine := filepath.Join(home, "pgpass")
	os.Symlink(planted, mine)
	if _, err := Edit(testLocks(t), mine, 0o600, mergeProd); err == nil || !strings.Contains(err.Error(), planted+" (reached through "+mine+")") {
		t.Errorf("Edit through a link to that link: %v", err)
	}
	st, _ := os.Stat(victim)
	if b, _ := os.ReadFile(victim); string(b) != orig || st.Mode().Perm() != 0o644 {
		t.Errorf("the link's target was changed: mode %v, %q", st.Mode().Perm(), b)
	}

	own := filepath.Join(shared, "own")
	os.Symlink(filepath.Join(home, "own.conf"), own)
	if written, err := Edit(testLocks(t), own, 0o600, mergeProd); err != nil || written != filepath.Join(home, "own.conf") {
		t.Errorf("Edit through the user's own link in a sticky directory = %s, %v", written, err)
	}
	private := t.TempDir()
	theirs := filepath.Join(private, "theirs")
	os.Symlink(filepath.Join(home, "theirs.conf"), theirs)
	os.Lchown(theirs, 65534, 65534)
	if written, err := Edit(testLocks(t), theirs, 0o600, mergeProd); err != nil || written != filepath.Join(home, "theirs.conf") {
		t.Errorf("Edit through another user's link in a directory only the user can write = %s, %v", written, err)
	}
}
