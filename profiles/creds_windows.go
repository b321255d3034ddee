//go:build windows

package profiles

import (
	"os/exec"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/windows"
)

// processShell runs a credential_process as the SDK does: cmd.exe /C on Windows.
var processShell = []string{"cmd.exe", "/C"}

// ttyIn and ttyOut are the console, where an MFA code is asked for: CONIN$ and CONOUT$ are
// the console's input and output whatever stdin and stdout are (CreateFile, "Consoles").
var ttyIn, ttyOut = "CONIN$", "CONOUT$"

// inOwnGroup kills the credential_process's whole tree when its context ends: cmd.exe /C alone
// would leave what it started running. Windows has no process groups; a job object would be the
// exact tool, but a process can only be put in one after it started (Go's exec starts it running
// and closes its thread handle, so it cannot be created suspended and resumed once in the job),
// and children started before that would escape it. taskkill /T follows the parent links from cmd.exe instead, which reaches every
// descendant whose parent is still alive at the kill. Untested here: the tests run on Linux.
func inOwnGroup(cmd *exec.Cmd) (done func()) {
	cmd.Cancel = func() error {
		exec.Command(taskkill(), "/T", "/F", "/PID", strconv.Itoa(cmd.Process.Pid)).Run()
		return cmd.Process.Kill()
	}
	return func() {}
}

// taskkill is Windows' own taskkill.exe, by full path in the system directory the OS reports
// (GetSystemDirectory), so a taskkill.exe in PATH or the current directory is not the one
// run. Not from %SystemRoot%: a parent may leave it out of the environment or set it, and a
// path built from an empty one is relative, which runs System32\taskkill.exe under the
// current directory.
func taskkill() string {
	dir, err := windows.GetSystemDirectory()
	if err != nil {
		dir = `C:\Windows\System32` // not seen in practice; still a full path, never a relative one
	}
	return filepath.Join(dir, "taskkill.exe")
}
