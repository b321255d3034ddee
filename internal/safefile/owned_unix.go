//go:build unix

package safefile

import (
	"fmt"
	"os"
	"syscall"
)

// ReadOwned is Read for a file that must be the user's own and is never reached through a
// symbolic link: a file another user planted (in a directory they can write) is refused, as
// is a link at path, which is not followed (O_NOFOLLOW). For files that hold what dsqlenv
// trusts without checking, such as cached credentials.
func ReadOwned(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if pe, ok := err.(*os.PathError); ok && pe.Err == syscall.ELOOP {
			return nil, &NotRegularError{Path: path, Kind: "a symbolic link"}
		}
		return nil, err
	}
	defer f.Close()
	data, st, err := ReadOpen(f, path, max)
	if err != nil {
		return nil, err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		return nil, fmt.Errorf("%s belongs to uid %d, not to you (uid %d)", path, sys.Uid, os.Geteuid())
	}
	return data, nil
}
