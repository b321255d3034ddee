package cli

import "os"

// killIfRunning kills the process pid and reports whether it was still running: on Windows,
// FindProcess opens the process and fails when there is none.
func killIfRunning(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Kill()
	p.Release()
	return true
}
