//go:build !windows

package cli

import (
	"fmt"
	"syscall"
)

// execProgram replaces dsqlenv with the program, so signals, the terminal and the exit
// status are the program's own. It returns only when the exec fails.
func execProgram(path string, argv, env []string) error {
	err := syscall.Exec(path, argv, env)
	return &codedError{fmt.Sprintf("exec: cannot run %s: %v", path, err), exitCannotRun}
}
