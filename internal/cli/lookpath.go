package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// lookPath finds a program the way a shell would, on Env's PATH rather than the process's:
// what doctor, exec and hook find is what the environment they were given says. A name with
// a slash is taken as it is. On Windows, where PATHEXT and the current directory join in,
// exec.LookPath decides (main's Environ is the process's own there too).
func (e *Env) lookPath(name string) (string, error) {
	if e.GOOS == "windows" || strings.Contains(name, "/") {
		return exec.LookPath(name)
	}
	for _, dir := range filepath.SplitList(e.Getenv("PATH")) {
		if dir == "" {
			dir = "." // POSIX: an empty entry is the current directory
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			if !filepath.IsAbs(p) {
				return p, &exec.Error{Name: name, Err: exec.ErrDot}
			}
			return p, nil
		}
	}
	return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
}
