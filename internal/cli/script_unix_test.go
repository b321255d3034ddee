//go:build unix

package cli

import "syscall"

// killIfRunning kills the process pid and reports whether it was still running.
func killIfRunning(pid int) bool {
	if syscall.Kill(pid, 0) == syscall.ESRCH {
		return false
	}
	syscall.Kill(pid, syscall.SIGKILL)
	return true
}
