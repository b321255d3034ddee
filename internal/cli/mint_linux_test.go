package cli

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// TestMFAPromptEchoBackAfterASignal: dsqlenv on a real terminal, stopped by Ctrl-C while it
// reads the MFA code with echo off, leaves the terminal echoing, and exits 130 having asked
// STS nothing.
func TestMFAPromptEchoBackAfterASignal(t *testing.T) {
	catchIgnoredSignals(t)
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
	// The prompt's line is ended, so the shell's prompt that follows starts on its own line.
	if shown := screen.WaitFor(t, "\n"); shown != "" && shown != "\r" {
		t.Errorf("after Ctrl-C the terminal shows %q before the line's end, want nothing", shown)
	}
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

// TestMFATypingIsNotInTheTimeout: --timeout guards the network, not the person typing: a code
// typed after --timeout has passed (10 s, the slack a loaded machine needs before the prompt)
// still mints, with one STS call.
func TestMFATypingIsNotInTheTimeout(t *testing.T) {
	sts := testkit.StartAWSStandIn(t)
	env, _ := mfaEnv(t, sts)
	master, slave, _ := testkit.OpenPTY(t)
	screen := testkit.WatchPTY(master)
	const timeout = 10 * time.Second
	cmd := exec.Command(binPath, "--timeout", timeout.String(), "token", "p")
	cmd.Env = env
	cmd.Stdin, cmd.Stderr = slave, slave
	var out strings.Builder
	cmd.Stdout = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	screen.WaitFor(t, "Enter MFA code for")
	testkit.WaitEcho(t, slave, false)
	time.Sleep(time.Until(start.Add(timeout + time.Second))) // the whole --timeout has passed
	master.WriteString("123456\n")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("a code typed after --timeout: %v\n%s", err, screen.WaitFor(t, "--timeout"))
	}
	if !strings.HasPrefix(out.String(), matrixEndpoint+"?Action=") {
		t.Errorf("stdout %q, want a token", out.String())
	}
	if calls := sts.AssumeRoleCalls(); len(calls) != 1 || calls[0].Get("TokenCode") != "123456" {
		t.Errorf("AssumeRole calls %v, want one with the code", calls)
	}
}
