//go:build aix || linux || solaris || zos

package profiles

import "golang.org/x/sys/unix"

// The ioctls that get and set a terminal's termios here, as golang.org/x/term uses them.
const (
	getTermios = unix.TCGETS
	setTermios = unix.TCSETS
)
