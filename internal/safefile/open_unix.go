//go:build unix

package safefile

import "syscall"

// openNonblock makes opening a FIFO return at once instead of waiting for a writer (open(2)).
const openNonblock = syscall.O_NONBLOCK
