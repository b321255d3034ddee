package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// countingBin is a stand-in for dsqlenv that records each time it is started and then runs
// the real binary, so a test can count the processes a prompt hook starts.
func countingBin(t *testing.T) (path, countFile string) {
	dir := t.TempDir()
	countFile = filepath.Join(dir, "count")
	path = filepath.Join(dir, "dsqlenv-counting")
	script := "#!/bin/sh\necho run >> " + emit.QuotePOSIX(countFile) + "\nexec " + emit.QuotePOSIX(binPath) + ` "$@"` + "\n"
	writeExecutable(t, path, script)
	return path, countFile
}

func starts(t *testing.T, countFile string) int {
	b, err := os.ReadFile(countFile)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "run\n")
}

// hookFor is `dsqlenv hook SHELL` with the binary's path swapped for bin.
func hookFor(t *testing.T, shell, bin string) string {
	r := runBin(t, awsEnv(t, false), "hook", shell)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("hook %s: exit %d: %s", shell, r.code, r.stderr)
	}
	d, _ := emit.Lookup(shell)
	quote := d.Quote
	if !strings.Contains(r.stdout, quote(binPath)) {
		t.Fatalf("hook %s does not call the binary %s:\n%s", shell, quote(binPath), r.stdout)
	}
	return strings.ReplaceAll(r.stdout, quote(binPath), quote(bin))
}

// interactive runs script in an interactive bash or zsh reading from a pipe: the shell shows
// a prompt (on stderr) and runs its prompt hooks before reading each line, as in a terminal.
func interactive(t *testing.T, shell string, env []string, script string) (stdout, stderr string) {
	t.Helper()
	args := map[string][]string{"bash": {"--norc", "--noprofile", "-i"}, "zsh": {"-f", "-i"}}[shell]
	cmd := exec.Command(testkit.RequireTool(t, shell), args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader(script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", shell, err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

// hookEnv is a shell's environment with a profile eval'd at some point: DSQLENV_PROFILE and
// DSQLENV_EXPIRES_AT set, the token stale.
func hookEnv(t *testing.T, keys bool, expiresAt int64) []string {
	cfg, _ := filepath.Abs(demoYAML)
	return awsEnv(t, keys, "TERM=dumb", "DSQLENV_CONFIG="+cfg, "DSQLENV_PROFILE=demo",
		"DSQLENV_EXPIRES_AT="+strconv.FormatInt(expiresAt, 10), "PGPASSWORD=stale-token")
}

var reportLine = regexp.MustCompile(`(?m)^REPORT status=(\d+) expires=(\d*) token=(.*)$`)

const report = `echo "REPORT status=$? expires=$DSQLENV_EXPIRES_AT token=$PGPASSWORD"` + "\n"

func TestHookRemintsAnExpiredTokenAtThePrompt(t *testing.T) {
	for _, shell := range []string{"bash", "zsh"} {
		t.Run(shell, func(t *testing.T) {
			bin, count := countingBin(t)
			// The hook is installed, then the token is made to look expired and a command
			// fails with status 3: the next prompt must re-mint and leave $? at 3.
			script := "eval " + emit.QuotePOSIX(hookFor(t, shell, bin)) + "\n" +
				"DSQLENV_EXPIRES_AT=" + strconv.FormatInt(time.Now().Unix()+30, 10) + "; (exit 3)\n" + report
			before := time.Now().Unix()
			// The token is fresh when the shell starts, so the hook's first prompt mints nothing.
			out, stderr := interactive(t, shell, hookEnv(t, true, before+900), script)
			m := reportLine.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no report:\n%s\nstderr: %s", out, stderr)
			}
			if m[1] != "3" {
				t.Errorf("$? after the hook re-minted is %s, want 3", m[1])
			}
			if n := starts(t, count); n != 1 {
				t.Errorf("dsqlenv started %d times, want once", n)
			}
			exp, _ := strconv.ParseInt(m[2], 10, 64)
			if exp < before+850 {
				t.Errorf("DSQLENV_EXPIRES_AT %d: not a fresh 15-minute token (started at %d)", exp, before)
			}
			if _, err := testkit.CheckSigV4(m[3], testkit.ExampleSecret); err != nil {
				t.Errorf("the re-minted PGPASSWORD does not verify: %v", err)
			}
		})
	}
}

func TestHookStartsNoProcessWhileTheTokenIsFresh(t *testing.T) {
	for _, shell := range []string{"bash", "zsh"} {
		t.Run(shell, func(t *testing.T) {
			bin, count := countingBin(t)
			script := "eval " + emit.QuotePOSIX(hookFor(t, shell, bin)) + "\n" + strings.Repeat(":\n", 200) + report
			out, _ := interactive(t, shell, hookEnv(t, true, time.Now().Unix()+900), script)
			m := reportLine.FindStringSubmatch(out)
			if m == nil || m[3] != "stale-token" {
				t.Fatalf("the token changed or no report: %q", out)
			}
			if n := starts(t, count); n != 0 {
				t.Errorf("200 prompts with a fresh token started dsqlenv %d times", n)
			}
			// The same prompts with an expired token do start it: the count above can fail.
			interactive(t, shell, hookEnv(t, true, 1), script)
			if n := starts(t, count); n != 1 {
				t.Errorf("with an expired token dsqlenv started %d times, want 1", n)
			}
		})
	}
}

func TestHookBacksOffAfterAFailure(t *testing.T) {
	for _, shell := range []string{"bash", "zsh"} {
		t.Run(shell, func(t *testing.T) {
			bin, count := countingBin(t)
			script := "eval " + emit.QuotePOSIX(hookFor(t, shell, bin)) + "\n" + strings.Repeat(":\n", 20) + report
			// No AWS credentials: every re-mint fails.
			out, stderr := interactive(t, shell, hookEnv(t, false, 1), script)
			if n := starts(t, count); n != 1 {
				t.Errorf("20 prompts after a failure started dsqlenv %d times, want 1", n)
			}
			if n := strings.Count(stderr, "dsqlenv: "); n != 1 || !strings.Contains(stderr, "no AWS credentials") {
				t.Errorf("want one dsqlenv line on stderr, got %d:\n%s", n, stderr)
			}
			if m := reportLine.FindStringSubmatch(out); m == nil || m[3] != "stale-token" || m[2] != "1" {
				t.Errorf("a failed re-mint changed the variables: %q", out)
			}
		})
	}
}

func TestHookChainsWithExistingPromptHooks(t *testing.T) {
	bin, _ := countingBin(t)
	cases := []struct{ shell, setup string }{
		{"bash", `PROMPT_COMMAND='echo "OLD saw $?"'`},
		{"bash", `PROMPT_COMMAND=('echo "OLD saw $?"')`}, // bash 5.1+ array form
		{"zsh", `old() { echo "OLD saw $?"; }; precmd_functions=(old)`},
	}
	for _, tc := range cases {
		t.Run(tc.shell, func(t *testing.T) {
			hook := emit.QuotePOSIX(hookFor(t, tc.shell, bin))
			// Installed twice, as a re-sourced rc file would: it must run once per prompt.
			script := tc.setup + "\neval " + hook + "\neval " + hook + "\nDSQLENV_EXPIRES_AT=1; (exit 5)\n" + report
			out, _ := interactive(t, tc.shell, hookEnv(t, true, time.Now().Unix()+900), script)
			if !strings.Contains(out, "OLD saw 5\n") {
				t.Errorf("the existing hook did not run or lost $?:\n%s", out)
			}
			m := reportLine.FindStringSubmatch(out)
			if m == nil || m[1] != "5" || m[3] == "stale-token" {
				t.Errorf("no re-mint or $? lost: %q", out)
			}
		})
	}
}

func TestHookInFish(t *testing.T) {
	fish := testkit.RequireTool(t, "fish")
	bin, count := countingBin(t)
	hook := hookFor(t, "fish", bin)
	run := func(env []string, script string) string {
		cmd := exec.Command(fish, "--no-config", "-c", hook+"\n"+script)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("fish: %v\n%s", err, out)
		}
		return string(out)
	}
	// fish runs handlers of the fish_prompt event before each prompt; emit drives them here.
	prompts := strings.Repeat("emit fish_prompt\n", 200)
	fishReport := `echo "REPORT status=0 expires=$DSQLENV_EXPIRES_AT token=$PGPASSWORD"`
	out := run(hookEnv(t, true, time.Now().Unix()+900), prompts+fishReport)
	if m := reportLine.FindStringSubmatch(out); m == nil || m[3] != "stale-token" || starts(t, count) != 0 {
		t.Errorf("200 fresh prompts: %d starts, output %q", starts(t, count), out)
	}
	before := time.Now().Unix()
	out = run(hookEnv(t, true, 1), prompts+fishReport)
	m := reportLine.FindStringSubmatch(out)
	if m == nil || starts(t, count) != 1 {
		t.Fatalf("expired token: %d starts, output %q", starts(t, count), out)
	}
	if exp, _ := strconv.ParseInt(m[2], 10, 64); exp < before+850 {
		t.Errorf("DSQLENV_EXPIRES_AT %s is not fresh", m[2])
	}
	if _, err := testkit.CheckSigV4(m[3], testkit.ExampleSecret); err != nil {
		t.Errorf("re-minted token: %v", err)
	}
	out = run(hookEnv(t, false, 1), prompts+fishReport)
	if starts(t, count) != 2 || strings.Count(out, "dsqlenv: ") != 1 {
		t.Errorf("failing re-mint: %d starts in all, output %q", starts(t, count), out)
	}
}

func TestHookPowerShellGolden(t *testing.T) {
	r := runApp(t, fixedMint, "hook", "powershell")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := strings.ReplaceAll(r.stdout, emit.QuotePowerShell(binPath), "'$BIN'")
	golden(t, filepath.Join("testdata", "golden", "hook-powershell.txt"), got)
	if strings.Count(got, "\r\n") != strings.Count(got, "\n") {
		t.Error("PowerShell hook lines must all end in CRLF")
	}
	// The path is a verbatim string (QuotePowerShell, fuzzed in emit) at the call.
	for _, p := range []string{`C:\Program Files\dsqlenv\dsqlenv.exe`, `C:\Users\o'brien\bin\dsqlenv.exe`} {
		e := testEnv(fixedMint)
		e.Executable = p
		r := runEnv(t, e, "hook", "powershell")
		if want := "& " + emit.QuotePowerShell(p) + " @dsqlenvArgs"; r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("no call %s in:\n%s", want, r.stdout)
		}
	}
	r = runApp(t, fixedMint, "hook", "tcsh")
	if r.code != 2 || !strings.Contains(r.stderr, `no hook for "tcsh"`) || r.stdout != "" {
		t.Errorf("unknown hook shell: %+v", r)
	}
}

// TestHookRefreshMargin: a token 150 s from expiry is left alone with the default margin of
// 60 s (and with a margin that is not a number), and re-minted with DSQLENV_REFRESH_MARGIN=200.
func TestHookRefreshMargin(t *testing.T) {
	for _, shell := range []string{"bash", "zsh"} {
		// The token has 150 s left: 200 and 0200 (decimal, not octal 128) re-mint; 99, 08 and
		// the default 60 do not while 50 s pass, slack for a loaded machine.
		for margin, want := range map[string]int{"": 0, "abc": 0, "200": 1, "$(touch ran)": 0, "0200": 1, "08": 0, "099": 0} {
			bin, count := countingBin(t)
			env := append(hookEnv(t, true, time.Now().Unix()+150), "DSQLENV_REFRESH_MARGIN="+margin)
			interactive(t, shell, env, "eval "+emit.QuotePOSIX(hookFor(t, shell, bin))+"\n:\n"+report)
			if n := starts(t, count); n != want {
				t.Errorf("%s, DSQLENV_REFRESH_MARGIN=%q: dsqlenv started %d times, want %d", shell, margin, n, want)
			}
		}
	}
}

// TestHookInInteractiveFish runs the fish hook in a real interactive fish on a terminal
// (script(1) provides the pty): a command fails with the token expired, the next prompt
// re-mints, and $status still says 1.
func TestHookInInteractiveFish(t *testing.T) {
	fish := testkit.RequireTool(t, "fish")
	scriptCmd := testkit.RequireTool(t, "script") // util-linux
	bin, count := countingBin(t)
	hookFile := filepath.Join(t.TempDir(), "hook.fish")
	if err := os.WriteFile(hookFile, []byte(hookFor(t, "fish", bin)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptCmd, "-qec", fish+" --no-config -i", "/dev/null")
	cmd.Env = hookEnv(t, true, time.Now().Unix()+900)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, "source "+emit.QuoteFish(hookFile)+"\n"+
		"set -gx DSQLENV_EXPIRES_AT 1; false\n"+
		`echo "REPORT status=$status expires=$DSQLENV_EXPIRES_AT token=$PGPASSWORD"`+"\nexit\n")
	err = cmd.Wait() // stdin stays open until fish has read everything and exited
	stdin.Close()
	if err != nil {
		t.Fatalf("fish on a pty: %v\n%s", err, out.String())
	}
	m := reportLine.FindStringSubmatch(strings.ReplaceAll(out.String(), "\r", ""))
	if m == nil {
		t.Fatalf("no report:\n%q", out.String())
	}
	if m[1] != "1" {
		t.Errorf("$status after the re-mint is %s, want 1", m[1])
	}
	if exp, _ := strconv.ParseInt(m[2], 10, 64); exp < time.Now().Unix()+800 || starts(t, count) != 1 {
		t.Errorf("no re-mint: expires %s, %d starts", m[2], starts(t, count))
	}
	if _, err := testkit.CheckSigV4(m[3], testkit.ExampleSecret); err != nil {
		t.Errorf("re-minted token: %v", err)
	}
}

// TestHookIgnoresAProfileThatIsNotAName: DSQLENV_PROFILE=--help (or help) at an interactive
// zsh or fish prompt must not make the hook run whatever help text says.
func TestHookIgnoresAProfileThatIsNotAName(t *testing.T) {
	for _, name := range []string{"--help", "-h"} {
		for _, shell := range []string{"bash", "zsh"} {
			t.Run(shell+name, func(t *testing.T) {
				bin, count := countingBin(t)
				env := awsEnv(t, true, "TERM=dumb", "DSQLENV_PROFILE="+name, "DSQLENV_EXPIRES_AT=1")
				out, stderr := interactive(t, shell, env, "eval "+emit.QuotePOSIX(hookFor(t, shell, bin))+"\n:\n:\necho done\n")
				if n := starts(t, count); n != 0 || !strings.Contains(out, "done") || strings.Contains(out+stderr, "psql") {
					t.Errorf("DSQLENV_PROFILE=%s: dsqlenv started %d times\n%s\n%s", name, n, out, stderr)
				}
			})
		}
		t.Run("fish"+name, func(t *testing.T) {
			fish := testkit.RequireTool(t, "fish")
			bin, count := countingBin(t)
			cmd := exec.Command(fish, "--no-config", "-c", hookFor(t, "fish", bin)+"\nemit fish_prompt\nemit fish_prompt\necho done")
			cmd.Env = awsEnv(t, true, "DSQLENV_PROFILE="+name, "DSQLENV_EXPIRES_AT=1")
			out, err := cmd.CombinedOutput()
			if n := starts(t, count); err != nil || n != 0 || !strings.Contains(string(out), "done") {
				t.Errorf("fish DSQLENV_PROFILE=%s: %v, %d starts\n%s", name, err, n, out)
			}
		})
	}
}

// TestHookRemintsFromTheFileTheBlockCameFrom: after eval "$(dsqlenv --config other.yaml bash
// prod)", a re-mint reads other.yaml, not the default file that also has a prod.
func TestHookRemintsFromTheFileTheBlockCameFrom(t *testing.T) {
	dir := t.TempDir()
	def := writeFile(t, dir, "default.yaml", "profiles:\n  prod:\n    endpoint: dddddddddddddddddddddddddd.dsql.us-east-1.on.aws\n")
	other := writeFile(t, dir, "other.yaml", "profiles:\n  prod:\n    endpoint: oooooooooooooooooooooooooo.dsql.us-east-1.on.aws\n")
	for _, shell := range []string{"bash", "zsh"} {
		t.Run(shell, func(t *testing.T) {
			bin, count := countingBin(t)
			script := "eval " + emit.QuotePOSIX(hookFor(t, shell, bin)) + "\n" +
				`eval "$("$BIN" --config "$OTHER" ` + shell + ` prod)"` + "\n" +
				"DSQLENV_EXPIRES_AT=" + strconv.FormatInt(time.Now().Unix()+10, 10) + "\n:\n" +
				`echo "HOST=$PGHOST FILE=$DSQLENV_PROFILES_FILE"` + "\n"
			out, stderr := interactive(t, shell, awsEnv(t, true, "TERM=dumb", "DSQLENV_CONFIG="+def, "OTHER="+other, "BIN="+binPath), script)
			if n := starts(t, count); n != 1 || !strings.Contains(out, "HOST=oooo") || !strings.Contains(out, "FILE="+other) {
				t.Errorf("%d re-mints; want one from other.yaml:\n%s\n%s", n, out, stderr)
			}
		})
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
