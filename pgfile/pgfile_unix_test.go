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
