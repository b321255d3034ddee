package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// TestWindowsReadRefusesWhatIsNotAFile: a directory, the NUL device and a named pipe are
// refused on the open handle with their kind named, a missing file keeps fs.ErrNotExist, and
// a file over the cap is refused.
func TestWindowsReadRefusesWhatIsNotAFile(t *testing.T) {
	refusesWhatIsNotAFile(t, "Read", func(path string, max int64) error {
		_, _, err := Read(path, max)
		return err
	})
}

// refusesWhatIsNotAFile holds read, a reader of this package, to the refusals above. The
// named pipe has one instance: a reader that opens the path twice (a check, then the open it
// reads from) finds it busy the second time.
func refusesWhatIsNotAFile(t *testing.T, name string, read func(path string, max int64) error) {
	t.Helper()
	dir := t.TempDir()
	pipe := fmt.Sprintf(`\\.\pipe\dsqlenv-safefile-%s-%d`, name, os.Getpid())
	p, _ := windows.UTF16PtrFromString(pipe)
	h, err := windows.CreateNamedPipe(p, windows.PIPE_ACCESS_DUPLEX, windows.PIPE_TYPE_BYTE, 1, 512, 512, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(h)
	for _, tc := range []struct{ path, kind string }{
		{dir, "a directory"},
		{"NUL", "a character device"},
		{pipe, "a FIFO"},
	} {
		err := read(tc.path, 1<<20)
		if want := tc.path + " is " + tc.kind + ", not a regular file"; err == nil || err.Error() != want || !IsNotRegular(err) {
			t.Errorf("%s(%s) = %v, want %s", name, tc.path, err, want)
		}
	}
	if err := read(filepath.Join(dir, "missing"), 10); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s of a missing file: %v", name, err)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, []byte(strings.Repeat("x", 11)), 0o600)
	if err := read(big, 10); err == nil || !strings.Contains(err.Error(), "larger than the 10 bytes") {
		t.Errorf("%s of a file over the cap: %v", name, err)
	}
}

// TestWindowsReadFollowsALink: a symbolic link to a file is read through (it is the user's
// choice of where the file lives), and one to a directory is refused like the directory.
func TestWindowsReadFollowsALink(t *testing.T) {
	testkit.SkipUnderWine(t, "wine 8 makes no symbolic link: os.Symlink returns nil and creates nothing (File not found)")
	dir := t.TempDir()
	target := filepath.Join(dir, "real.yaml")
	os.WriteFile(target, []byte("profiles: {}\n"), 0o600)
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("no symbolic links here (Windows without developer mode or privilege, or wine): %v", err)
	}
	if b, _, err := Read(link, 100); err != nil || string(b) != "profiles: {}\n" {
		t.Errorf("Read through a link: %q, %v", b, err)
	}
	dlink := filepath.Join(dir, "dirlink")
	if err := os.Symlink(dir, dlink); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Read(dlink, 100); !IsNotRegular(err) {
		t.Errorf("Read through a link to a directory: %v", err)
	}
}
