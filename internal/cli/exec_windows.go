//go:build windows

package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
)

// execProgram runs the program as a child, since Windows cannot replace a process, and exits
// with its status. Ctrl-C reaches the child through the console; dsqlenv ignores it and waits.
func execProgram(path string, argv, env []string) error {
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	signal.Ignore(os.Interrupt)
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &silentError{ee.ExitCode()}
	}
	if err != nil {
		return &codedError{fmt.Sprintf("exec: cannot run %s: %v", path, err), exitCannotRun}
	}
	return nil
}
