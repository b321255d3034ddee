//go:build unix

package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/internal/roots"
	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// The second adversarial pass: each test below failed on the main it was written against.

const hardHost = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"

// rootsOf is where a run with env writes the bundled roots.
func rootsOf(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_DATA_HOME="); ok {
			return filepath.Join(v, "dsqlenv", "AmazonRootCAs.pem")
		}
	}
	panic("no XDG_DATA_HOME")
}

// TestRootsNeverWrittenThroughARacingLink: while another process keeps planting a link to a
// victim file at the roots path (symlink to a temporary name, then rename over it, the
// race of the report), 40 runs of `dsqlenv cert` never change the victim's bytes or mode.
func TestRootsNeverWrittenThroughARacingLink(t *testing.T) {
	env := awsEnv(t, false)
	roots := rootsOf(env)
	os.MkdirAll(filepath.Dir(roots), 0o700)
	victim := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(victim, []byte("top secret\n"), 0o600)

	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		tmp := roots + ".plant"
		for !stop.Load() {
			os.Remove(tmp)
			if os.Symlink(victim, tmp) == nil {
				os.Rename(tmp, roots)
			}
		}
	}()
	for i := range 40 {
		r := runBin(t, env, "cert")
		if r.code != 0 {
			t.Errorf("run %d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	stop.Store(true)
	<-done
	b, _ := os.ReadFile(victim)
	st, _ := os.Stat(victim)
	if string(b) != "top secret\n" || st.Mode().Perm() != 0o600 {
		t.Fatalf("the victim changed through the link: mode %v, %q", st.Mode().Perm(), b)
	}
}

// TestRootsRefusedInADirectoryOthersCanWrite: a data directory that others can write (or,
// as root, one that another user owns: sudo -E with their XDG_DATA_HOME) is refused with the
// reason, and nothing is written; the same run with a private directory works.
func TestRootsRefusedInADirectoryOthersCanWrite(t *testing.T) {
	env := awsEnv(t, false)
	dir := filepath.Dir(rootsOf(env))
	os.MkdirAll(dir, 0o700)
	os.Chmod(dir, 0o777)
	r := runBin(t, env, "cert")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "can be written by others (mode 0777)") {
		t.Errorf("world-writable: %+v", r)
	}
	if _, err := os.Lstat(rootsOf(env)); err == nil {
		t.Error("the roots were written into a directory others can write")
	}
	if os.Geteuid() == 0 {
		os.Chmod(dir, 0o755)
		os.Chown(dir, 65534, 65534)
		r = runBin(t, env, "cert")
		if r.code != 1 || !strings.Contains(r.stderr, "belongs to uid 65534, not to you (uid 0) or root") {
			t.Errorf("another user's directory, as root: %+v", r)
		}
		os.Chown(dir, 0, 0)
	}
	os.Chmod(dir, 0o700)
	if r = runBin(t, env, "cert"); r.code != 0 || strings.TrimSpace(r.stdout) != rootsOf(env) {
		t.Errorf("private directory: %+v", r)
	}
}

// TestRootsPathHoldingAFIFOOrDevice: a FIFO at the roots path, or a link to /dev/zero, neither
// hangs nor eats memory: the block is printed and the path becomes the roots file. doctor
// with a FIFO as sslrootcert says what it is instead of waiting for a writer.
func TestRootsPathHoldingAFIFOOrDevice(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  prod:\n    endpoint: "+hardHost+"\n")
	for name, plant := range map[string]func(string) error{
		"fifo":      func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"/dev/zero": func(p string) error { return os.Symlink("/dev/zero", p) },
	} {
		t.Run(name, func(t *testing.T) {
			env := awsEnv(t, true)
			path := rootsOf(env)
			os.MkdirAll(filepath.Dir(path), 0o700)
			if err := plant(path); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binPath, "-c", cfg, "bash", "prod")
			cmd.Env = env
			r := runCmd(t, cmd)
			if ctx.Err() != nil {
				t.Fatal("dsqlenv hung on the roots path")
			}
			if r.code != 0 || !strings.Contains(r.stdout, "export PGSSLROOTCERT='"+path+"';") {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, roots.PEM) {
				t.Errorf("the roots path does not hold the roots now: %v", err)
			}
		})
	}
	t.Run("doctor sslrootcert fifo", func(t *testing.T) {
		dir := t.TempDir()
		fifo := filepath.Join(dir, "ca.pem")
		syscall.Mkfifo(fifo, 0o644)
		cfg := writeFile(t, dir, "p.yaml", "profiles:\n  prod:\n    endpoint: "+hardHost+"\n    sslrootcert: "+fifo+"\n")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, binPath, "-c", cfg, "doctor", "prod")
		cmd.Env = awsEnv(t, true, "PATH=/nonexistent")
		r := runCmd(t, cmd)
		if ctx.Err() != nil {
			t.Fatal("doctor hung on a FIFO sslrootcert")
		}
		if !strings.Contains(r.stdout+r.stderr, "is a FIFO, not a regular file") {
			t.Errorf("doctor did not say what the sslrootcert is: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}

// TestUnknownCommandPrintsFalse: a mistyped or missing command word prints a lone false, so
// `eval "$(…)" && psql` stops in bash, zsh and dash, and `… | source; and psql` in fish.
func TestUnknownCommandPrintsFalse(t *testing.T) {
	for _, args := range [][]string{{"bsah", "prod"}, {"Bash", "prod"}, {"zhs", "prod"}, {"bash-prod"}, {"fsh", "prod"}, {"--debug"}, {"--timeout", "5s"}, {}} {
		r := runBin(t, awsEnv(t, true), args...)
		if r.code != 2 || r.stdout != "false\n" || r.stderr == "" {
			t.Errorf("dsqlenv %s: exit %d stdout %q stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
	for _, sh := range []string{"bash", "zsh", "dash"} {
		script := `eval "$("$BIN" bsah prod)" && echo RAN; echo DONE`
		cmd := exec.Command(testkit.RequireTool(t, sh), "-c", script)
		cmd.Env = awsEnv(t, true, "BIN="+binPath)
		r := runCmd(t, cmd)
		if strings.Contains(r.stdout, "RAN") || !strings.Contains(r.stdout, "DONE") {
			t.Errorf("%s ran the next command after a mistyped shell name: %q", sh, r.stdout)
		}
	}
	cmd := exec.Command(testkit.RequireTool(t, "fish"), "--no-config", "-c", `"$BIN" fsh prod | source; and echo RAN; echo DONE`)
	cmd.Env = awsEnv(t, true, "BIN="+binPath)
	if r := runCmd(t, cmd); strings.Contains(r.stdout, "RAN") || !strings.Contains(r.stdout, "DONE") {
		t.Errorf("fish ran the next command after a mistyped shell name: %q", r.stdout)
	}
}

// TestSignalsEndTheRunAndItsCredentialProcess: SIGTERM, SIGHUP or SIGINT while a
// credential_process hangs: dsqlenv prints false, exits 128+n, and the process (and the one
// it started) is gone.
func TestSignalsEndTheRunAndItsCredentialProcess(t *testing.T) {
	// A signal this test process was started with ignored (SIGHUP under nohup, SIGINT under
	// `make test &`) would be ignored by the dsqlenv it starts too, which keeps it so on
	// purpose (main's processSignals). Caught here instead, it reaches each child as the
	// default again: exec resets caught signals, not ignored ones.
	unignore := make(chan os.Signal, 1)
	for _, s := range []os.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
		if signal.Ignored(s) {
			signal.Notify(unignore, s)
		}
	}
	defer signal.Stop(unignore)
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

// TestAFlagValueIsNeverHelp: --file -h names a file called -h; the PROFILE that follows
// still limits the command to that profile.
func TestAFlagValueIsNeverHelp(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  prod:\n    endpoint: "+hardHost+"\n  dev:\n    endpoint: bbcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n")
	env := awsEnv(t, true)
	run := func(args ...string) result {
		cmd := exec.Command(binPath, append([]string{"-c", cfg}, args...)...)
		cmd.Env, cmd.Dir = env, dir
		return runCmd(t, cmd)
	}
	passDir := t.TempDir()
	if r := run("service", "--file", "-h", "prod"); r.code != 0 {
		t.Fatalf("service: %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "-h")); !strings.Contains(string(b), "[prod]") || strings.Contains(string(b), "[dev]") {
		t.Errorf("service --file -h prod wrote:\n%s", b)
	}
	run("service", "--file", "-h", "dev")
	if r := run("service", "--remove", "--file", "-h", "prod"); r.code != 0 {
		t.Fatalf("service --remove: %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "-h")); strings.Contains(string(b), "[prod]") || !strings.Contains(string(b), "[dev]") {
		t.Errorf("service --remove --file -h prod left:\n%s", b)
	}
	cmd := exec.Command(binPath, "-c", cfg, "pgpass", "--file", "-h", "prod")
	cmd.Env, cmd.Dir = env, passDir
	if r := runCmd(t, cmd); r.code != 0 || !strings.Contains(r.stderr, "wrote 1 token(s)") {
		t.Errorf("pgpass --file -h prod: %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(passDir, "-h")); strings.Count(string(b), "\n") != 1 || !strings.HasPrefix(string(b), hardHost+":") {
		t.Errorf("pgpass --file -h prod wrote:\n%s", b)
	}
}

// TestPgpassMinValidSeesAShadowingWildcard: an earlier *:*:*:*:old line is what libpq sends,
// so the profile's own fresh line below it counts as stale, and the new token goes before it.
func TestPgpassMinValidSeesAShadowingWildcard(t *testing.T) {
	fresh := passLine(refreshProd, tokenSignedAt(refreshProd, fixedNow.Add(-time.Minute), 15*time.Minute))
	cfg, file := refreshFiles(t, "*:*:*:*:OLDSTALE\n"+fresh)
	mint, calls := countingMint()
	r := runApp(t, mint, "-c", cfg, "pgpass", "--file", file, "--min-valid", "5m", "prod")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "refreshed 1 of 1 token(s)") || len(*calls) != 1 {
		t.Fatalf("exit %d stdout %q stderr %q, %d mints", r.code, r.stdout, r.stderr, len(*calls))
	}
	b, _ := os.ReadFile(file)
	if lines := strings.Split(string(b), "\n"); len(lines) < 2 || !strings.HasPrefix(lines[0], refreshProd+":") || lines[1] != "*:*:*:*:OLDSTALE" {
		t.Errorf("file:\n%s", b)
	}
}

// TestAFailedServiceWritesNothing: when the roots cannot be written, the service file that
// would name them is not written either.
func TestAFailedServiceWritesNothing(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  prod:\n    endpoint: "+hardHost+"\n")
	env := awsEnv(t, true)
	data := filepath.Dir(rootsOf(env))
	os.MkdirAll(data, 0o700)
	os.Chmod(data, 0o777) // refused as a place for the roots, by root too
	svc := filepath.Join(dir, "pg_service.conf")
	r := runBin(t, env, "-c", cfg, "service", "--file", svc, "prod")
	if r.code != 1 || !strings.Contains(r.stderr, "writing the Amazon root CAs") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
	if _, err := os.Lstat(svc); err == nil {
		t.Error("the service file was written though its roots were not")
	}
}

// TestStatusAndPromptBelieveTheSameExpiry: a DSQLENV_EXPIRES_AT beyond 168 h, or not whole
// seconds, is unknown to both.
func TestStatusAndPromptBelieveTheSameExpiry(t *testing.T) {
	bash, _ := emit.Lookup("bash")
	if !strings.Contains(bash.Hook, "(( left > 604800 ))") || maxBelievableLeft != 604800 {
		t.Fatal("the bash prompt and status no longer share the 168 h rule")
	}
	now := time.Now().Unix()
	for _, exp := range []string{"9999999999999", strconv.FormatInt(now+604900, 10), "12.5"} {
		env := []string{"PATH=" + os.Getenv("PATH"), "GORACE=" + os.Getenv("GORACE"), "DSQLENV_PROFILE=prod", "DSQLENV_EXPIRES_AT=" + exp}
		r := runBin(t, env, "status")
		cmd := exec.Command(testkit.RequireTool(t, "bash"), "--norc", "--noprofile", "-c", hookFor(t, "bash", binPath)+"\ndsqlenv_prompt")
		cmd.Env = env
		p := runCmd(t, cmd)
		if r.code != 1 || r.stdout != "" || p.stdout != "prod ?" {
			t.Errorf("DSQLENV_EXPIRES_AT=%s: status %+v, prompt %q", exp, r, p.stdout)
		}
	}
}

// TestHooksIgnoreARelativeProfilesFile: a DSQLENV_PROFILES_FILE that is not absolute (only a
// tampered environment has one) is not read from the prompt's directory: the re-mint uses
// the default file.
func TestHooksIgnoreARelativeProfilesFile(t *testing.T) {
	dir := t.TempDir()
	def := writeFile(t, dir, "default.yaml", "profiles:\n  demo:\n    endpoint: dddddddddddddddddddddddddd.dsql.us-east-1.on.aws\n")
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			work := t.TempDir()
			writeFile(t, work, "rel.yaml", "profiles:\n  demo:\n    endpoint: rrrrrrrrrrrrrrrrrrrrrrrrrr.dsql.us-east-1.on.aws\n")
			env := append(hookEnv(t, true, 1), "DSQLENV_CONFIG="+def, "DSQLENV_PROFILES_FILE=rel.yaml")
			hook := hookFor(t, shell, binPath)
			var cmd *exec.Cmd
			if shell == "fish" {
				cmd = exec.Command(testkit.RequireTool(t, "fish"), "--no-config", "-c",
					hook+"\nemit fish_prompt\necho HOST=$PGHOST")
			} else {
				args := map[string][]string{"bash": {"--norc", "--noprofile", "-i"}, "zsh": {"-f", "-i"}}[shell]
				cmd = exec.Command(testkit.RequireTool(t, shell), args...)
				cmd.Stdin = strings.NewReader("eval " + emit.QuotePOSIX(hook) + "\n:\necho HOST=$PGHOST\n")
			}
			cmd.Env, cmd.Dir = env, work
			r := runCmd(t, cmd)
			if !strings.Contains(r.stdout, "HOST=dddd") {
				t.Errorf("re-minted from %q, want the default file:\n%s\n%s", r.stdout, r.stdout, r.stderr)
			}
		})
	}
}

// TestABlockOnATerminalShowsNoControlCharacters: printed to a terminal, a block shows a
// profile's escape sequence escaped; piped, its bytes are exact for eval.
func TestABlockOnATerminalShowsNoControlCharacters(t *testing.T) {
	script := testkit.RequireTool(t, "script")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  esc:\n    endpoint: "+hardHost+"\n    application_name: \"a\\e]0;PWNED\\ab\"\n")
	cmd := exec.Command(script, "-qec", emit.QuotePOSIX(binPath)+" -c "+emit.QuotePOSIX(cfg)+" bash esc", "/dev/null")
	cmd.Env = awsEnv(t, true)
	r := runCmd(t, cmd)
	if r.code != 0 || strings.Contains(r.stdout, "\x1b]0;") || !strings.Contains(r.stdout, `a\x1b]0;PWNED\x07b`) {
		t.Errorf("on a terminal: exit %d\n%q", r.code, r.stdout)
	}
	r = runBin(t, awsEnv(t, true), "-c", cfg, "bash", "esc")
	if r.code != 0 || !strings.Contains(r.stdout, "export PGAPPNAME='a\x1b]0;PWNED\ab';") {
		t.Errorf("piped: exit %d\n%q", r.code, r.stdout)
	}
}

// TestSlowCredentialsSayWhatTheyWaitFor: a credential_process that takes 15 s; at a terminal
// dsqlenv says after 2 s what it waits for (13 s of slack), piped it says nothing.
func TestSlowCredentialsSayWhatTheyWaitFor(t *testing.T) {
	dir := t.TempDir()
	creds := writeFile(t, dir, "creds.json", `{"Version": 1, "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}`)
	awsCfg := writeFile(t, dir, "aws-config", "[profile slow]\ncredential_process = sh -c 'sleep 15; cat "+creds+"'\n")
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  s:\n    endpoint: "+hardHost+"\n    aws_profile: slow\n")
	env := awsEnv(t, false, "AWS_CONFIG_FILE="+awsCfg)
	const want = "dsqlenv: waiting for AWS credentials from AWS profile slow (from aws_profile:) (a credential_process, SSO or STS; giving up after 30s, --timeout)"
	t.Run("terminal", func(t *testing.T) {
		t.Parallel()
		cmd := exec.Command(testkit.RequireTool(t, "script"), "-qec", emit.QuotePOSIX(binPath)+" -c "+emit.QuotePOSIX(cfg)+" token s", "/dev/null")
		cmd.Env = env
		r := runCmd(t, cmd)
		if r.code != 0 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, hardHost+"?Action=DbConnectAdmin") {
			t.Errorf("at a terminal: exit %d\n%q", r.code, r.stdout)
		}
	})
	t.Run("piped", func(t *testing.T) {
		t.Parallel()
		r := runBin(t, env, "-c", cfg, "token", "s")
		if r.code != 0 || strings.Contains(r.stderr, "waiting") || !strings.HasPrefix(r.stdout, hardHost+"?Action=DbConnectAdmin") {
			t.Errorf("piped: %+v", r)
		}
	})
}
