//go:build unix

package profiles

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// processShell runs a credential_process as the SDK does: sh -c on Unix.
var processShell = []string{"sh", "-c"}

// ttyIn and ttyOut are the controlling terminal, where an MFA code is asked for (tty(4)).
var ttyIn, ttyOut = "/dev/tty", "/dev/tty"

// inOwnGroup makes cmd the leader of a new process group and, when its context ends, kills
// the whole group: `sh -c 'sleep 300 & sleep 300'` or a helper that forks leaves children the
// default (killing the sh alone) would orphan, still holding the terminal. A child that leaves
// the group (setsid, setpgid) is out of reach; only a session manager could follow it.
//
// A process group of its own is a background group on the terminal, and a background group that
// reads the terminal is stopped (SIGTTIN, POSIX "General Terminal Interface", 11.1.4), which
// would hang an MFA prompt. So when dsqlenv holds the terminal, the group gets it for its run,
// the way a shell hands it to a foreground job, and done takes it back.
func inOwnGroup(cmd *exec.Cmd) (done func()) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// Pgid 0 above makes the group's id the leader's pid.
		if err := unix.Kill(-cmd.Process.Pid, unix.SIGKILL); err != unix.ESRCH {
			return err
		}
		return os.ErrProcessDone // what exec expects when there is nothing left to kill
	}
	const tty = 0 // the credential_process reads its MFA code from dsqlenv's stdin
	fg, err := unix.IoctlGetInt(tty, unix.TIOCGPGRP)
	if err != nil || fg != unix.Getpgrp() {
		return func() {} // no terminal, or dsqlenv is not in its foreground
	}
	cmd.SysProcAttr.Foreground = true
	cmd.SysProcAttr.Ctty = tty
	return func() {
		// From a background group, taking the terminal back raises SIGTTOU, which stops the
		// caller unless ignored (tcsetpgrp(3)); shells ignore it for the same reason.
		signal.Ignore(unix.SIGTTOU)
		defer signal.Reset(unix.SIGTTOU)
		unix.IoctlSetPointerInt(tty, unix.TIOCSPGRP, unix.Getpgrp())
	}
}
