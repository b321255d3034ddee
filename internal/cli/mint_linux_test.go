package cli

import (
	"os/exec"
	"syscall"
	"testing"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// TestMFAPromptEchoBackAfterASignal: dsqlenv on a real terminal, stopped by Ctrl-C while it
// reads the MFA code with echo off, leaves the terminal echoing, and exits 130 having asked
// STS nothing.
func TestMFAPromptEchoBackAfterASignal(t *testing.T) {
	sts := testkit.StartAWSStandIn(t)
	env, _ := mfaEnv(t, sts)
	master, slave, _ := testkit.OpenPTY(t)
	screen := testkit.WatchPTY(master)
	cmd := exec.Command(binPath, "bash", "p")
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	// A session of its own with the pty as its controlling terminal: /dev/tty is the pty.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	screen.WaitFor(t, "Enter MFA code for arn:aws:iam::123456789012:mfa/me (AWS profile mfa): ")
	testkit.WaitEcho(t, slave, false)
	master.WriteString("\x03") // Ctrl-C: the terminal sends SIGINT to its foreground group
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("after Ctrl-C: %v, want exit status 130", err)
	}
	if !testkit.Echoing(t, slave) {
		t.Error("the terminal does not echo after dsqlenv was stopped at the MFA prompt")
	}
	if n := len(sts.AssumeRoleCalls()); n != 0 {
		t.Errorf("%d AssumeRole calls", n)
	}
}
