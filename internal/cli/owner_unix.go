//go:build unix

package cli

import (
	"io/fs"
	"syscall"
)

// fileOwner is the user ID that owns a file, from its Lstat.
func fileOwner(st fs.FileInfo) (int, bool) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(sys.Uid), true
	}
	return 0, false
}
