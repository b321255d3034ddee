//go:build windows

package cli

import "io/fs"

// fileOwner: Windows has no user IDs in file modes; the proxy offers no Unix sockets there.
func fileOwner(fs.FileInfo) (int, bool) { return 0, false }
