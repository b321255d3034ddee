//go:build unix

package cli

import (
	"bytes"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// TestSignalsEndTheRunAndItsCredentialProcess: SIGTERM, SIGHUP or SIGINT while a
// credential_process hangs: dsqlenv prints false, exits 128+n, and the process (and the one
// it started) is gone.
func TestSignalsEndTheRunAndItsCredentialProcess(t *testing.T) {
	catchIgnoredSignals(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			pidFile := filepath.Join(dir, "pid")
			awsCfg := writeFile(t, dir, "aws-config", "[profile hang]\ncredential_process = sh -c 'echo $$ > "+pidFile+"; sleep 300'\n")
			cfg := writeFile(t, dir, "p.yaml", "profiles:\n  s:\n    endpoint: "+hardHost+"\n    aws_profile: hang\n")
			cmd := exec.Command(binPath, "-c", cfg, "bash", "s")
			cmd.Env = awsEnv(t, false, "AWS_CONFIG_FILE="+awsCfg)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			cmd.WaitDelay = 10 * time.Second
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pid := 0
			for deadline := time.Now().Add(30 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				b, _ := os.ReadFile(pidFile)
				pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
			if pid == 0 {
				cmd.Process.Kill()
				t.Fatal("the credential_process never started")
			}
			cmd.Process.Signal(sig)
			cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 128+int(sig) || out.String() != "false\n" {
				t.Errorf("exit %d stdout %q stderr %q, want %d and false", code, out.String(), errb.String(), 128+int(sig))
			}
			if !strings.Contains(errb.String(), "stopped by SIG") {
				t.Errorf("stderr does not say why: %q", errb.String())
			}
			if running(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("the credential_process (pid %d) outlived dsqlenv", pid)
			}
		})
	}
	// As in the report: eval "$(timeout 2 dsqlenv bash s)" && psql must not run psql.
	dir := t.TempDir()
	awsCfg := writeFile(t, dir, "aws-config", "[profile hang]\ncredential_process = sh -c 'sleep 31'\n")
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  s:\n    endpoint: "+hardHost+"\n    aws_profile: hang\n")
	cmd := exec.Command(testkit.RequireTool(t, "bash"), "-c", `eval "$(timeout 2 "$BIN" -c "$CFG" bash s)" && echo RAN; echo DONE`)
	cmd.Env = awsEnv(t, false, "AWS_CONFIG_FILE="+awsCfg, "BIN="+binPath, "CFG="+cfg)
	if r := runCmd(t, cmd); strings.Contains(r.stdout, "RAN") || !strings.Contains(r.stdout, "DONE") {
		t.Errorf("the shell went on after dsqlenv was stopped by timeout: %q %q", r.stdout, r.stderr)
	}
}

// running reports whether pid is a live process: a zombie (killed, its parent gone, waiting
// for an init that may never reap it) is not.
func running(pid int) bool {
	if syscall.Kill(pid, 0) == syscall.ESRCH {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !os.IsNotExist(err)
	}
	// pid (comm) state ...: comm may hold spaces and parentheses, so read after the last ')'.
	rest := string(b[bytes.LastIndexByte(b, ')')+1:])
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

// catchIgnoredSignals: a signal this test process was started with ignored (SIGHUP under
// nohup, SIGINT under `make test &`) would be ignored by the dsqlenv it starts too, which
// keeps it so on purpose (main's processSignals). Caught here instead, it reaches each child
// as the default again: exec resets caught signals, not ignored ones. Caught once, for the
// rest of the test process: signal.Stop would put SIG_IGN back while signal.Ignored went on
// saying false, so a later test would see nothing to catch and its child would ignore the
// signal (TestProxyDrainEndsIdleSessionsAndSaysSo under nohup, after this file's test).
func catchIgnoredSignals(*testing.T) {
	ignoredAtStart.Do(func() {
		for _, s := range []os.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
			if signal.Ignored(s) {
				signal.Notify(make(chan os.Signal, 1), s)
			}
		}
	})
}

var ignoredAtStart sync.Once
