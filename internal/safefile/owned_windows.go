//go:build windows

package safefile

import (
	"io/fs"
	"os"
)

// ReadOwned is Read for a file that is never reached through a link. Windows has no
// O_NOFOLLOW and no owner in the file mode: a link found by Lstat is refused, and the file's
// ACL (a user profile is the user's own) stands for the owner check.
func ReadOwned(path string, max int64) ([]byte, error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		return nil, &NotRegularError{Path: path, Kind: "a symbolic link"}
	}
	data, _, err := Read(path, max)
	return data, err
}
