package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// TestABlockEvaluatedByAnotherShellSaysWhich: bash code evaluated by fish (and fish code by
// bash) prints one line naming the command for the shell that runs it; a block evaluated by
// its own kind of shell (zsh and dash run the POSIX block) prints nothing on stderr.
func TestABlockEvaluatedByAnotherShellSaysWhich(t *testing.T) {
	env := awsEnv(t, true, "BIN="+binPath, "DSQLENV_CONFIG="+demoYAML)
	cases := []struct {
		shell, script, hint string // hint "": stderr must stay empty
	}{
		{"fish", `eval ("$BIN" bash demo)`, "dsqlenv: note: fish started dsqlenv, but this is bash code, which fish cannot run; in fish use: dsqlenv fish demo | source\n"},
		{"bash", `eval "$("$BIN" fish demo)"`, `dsqlenv: note: bash started dsqlenv, but this is fish code, which bash cannot run; in bash use: eval "$(dsqlenv bash demo)"` + "\n"},
		{"zsh", `eval "$("$BIN" fish demo)"`, `dsqlenv: note: zsh started dsqlenv, but this is fish code, which zsh cannot run; in zsh use: eval "$(dsqlenv zsh demo)"` + "\n"},
		{"fish", `"$BIN" fish demo | source`, ""},
		{"bash", `eval "$("$BIN" bash demo)"`, ""},
		{"zsh", `eval "$("$BIN" bash demo)"`, ""},
		{"dash", `eval "$("$BIN" sh demo)"`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.shell+" "+tc.script, func(t *testing.T) {
			args := []string{"-c", tc.script}
			if tc.shell == "fish" {
				args = []string{"--no-config", "-c", tc.script}
			}
			cmd := exec.Command(testkit.RequireTool(t, tc.shell), args...)
			cmd.Env = env
			r := runCmd(t, cmd)
			stderr := r.stderr
			if tc.hint != "" {
				// What the shell itself then says about the code it cannot run follows dsqlenv's line.
				if !strings.HasPrefix(stderr, tc.hint) {
					t.Errorf("stderr %q, want it to start with %q", stderr, tc.hint)
				}
				return
			}
			if stderr != "" || r.code != 0 {
				t.Errorf("exit %d, stderr %q, want 0 and nothing", r.code, stderr)
			}
		})
	}
}

// TestFishRunsNoneOfABashBlock: fish has an export function, so a bash block it evaluated
// used to set every variable but unset none, leaving an earlier profile's PGHOSTADDR in place
// and succeeding. The block's first line is an if without end to fish, which rejects the
// whole input: nothing is set, the status is not 0, and bash, zsh and dash run it as before.
func TestFishRunsNoneOfABashBlock(t *testing.T) {
	env := awsEnv(t, true, "BIN="+binPath, "DSQLENV_CONFIG="+demoYAML)
	fish := testkit.RequireTool(t, "fish")
	for _, script := range []string{`eval ("$BIN" bash demo)`, `"$BIN" bash demo | source`} {
		cmd := exec.Command(fish, "--no-config", "-c", `set -gx PGHOSTADDR 10.9.9.9; `+script+`; echo "status=$status PGHOSTADDR=$PGHOSTADDR PGUSER=$PGUSER"`)
		cmd.Env = env
		r := runCmd(t, cmd)
		if r.stdout != "status=123 PGHOSTADDR=10.9.9.9 PGUSER=\n" && r.stdout != "status=1 PGHOSTADDR=10.9.9.9 PGUSER=\n" {
			t.Errorf("fish %s: %q, want a failure and nothing set", script, r.stdout)
		}
	}
	for _, shell := range []string{"bash", "zsh", "dash"} {
		dialect := "bash"
		if shell == "dash" {
			dialect = "sh"
		}
		cmd := exec.Command(testkit.RequireTool(t, shell), "-c", `PGHOSTADDR=10.9.9.9; export PGHOSTADDR; eval "$("$BIN" `+dialect+` demo)" && echo "PGHOSTADDR=${PGHOSTADDR-} PGUSER=$PGUSER"`)
		cmd.Env = env
		if r := runCmd(t, cmd); r.stdout != "PGHOSTADDR= PGUSER=admin\n" {
			t.Errorf("%s: %q %q, want the block applied and PGHOSTADDR gone", shell, r.stdout, r.stderr)
		}
	}
}

// TestTheOtherShellNoteIsOnlyForAnEval: written to a file or /dev/null, a block is not being
// evaluated, and nothing is said; the line the note gives changes the dialect word, not a
// --config value that happens to be a shell's name.
func TestTheOtherShellNoteIsOnlyForAnEval(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := os.ReadFile(demoYAML)
	writeFile(t, dir, "fish", string(cfg)) // a profiles file named like a shell
	env := awsEnv(t, true, "BIN="+binPath, "DSQLENV_CONFIG="+demoYAML, "OUT="+filepath.Join(dir, "b.sh"))
	for _, script := range []string{`"$BIN" bash demo > "$OUT"`, `"$BIN" bash demo > /dev/null`} {
		cmd := exec.Command(testkit.RequireTool(t, "fish"), "--no-config", "-c", script)
		cmd.Env = env
		if r := runCmd(t, cmd); r.code != 0 || r.stderr != "" {
			t.Errorf("fish %s: exit %d, stderr %q, want 0 and nothing", script, r.code, r.stderr)
		}
	}
	cmd := exec.Command(testkit.RequireTool(t, "bash"), "-c", `eval "$("$BIN" -c fish fish demo)"`)
	cmd.Env, cmd.Dir = env, dir
	want := `dsqlenv: note: bash started dsqlenv, but this is fish code, which bash cannot run; in bash use: eval "$(dsqlenv -c fish bash demo)"` + "\n"
	if r := runCmd(t, cmd); !strings.HasPrefix(r.stderr, want) {
		t.Errorf("stderr %q, want it to start with %q", r.stderr, want)
	}
}

// switchProfiles: a sets every optional variable, b none of them.
const switchProfiles = "profiles:\n" +
	"  a:\n    endpoint: aaaaaaaaaaaaaaaaaaaaaaaaaa.dsql.us-east-1.on.aws\n    application_name: app-a\n" +
	"    connect_timeout: 7\n    options: '-c amzn-cluster-id=aaaaaaaaaaaaaaaaaaaaaaaaaa'\n" +
	"  b:\n    endpoint: bbbbbbbbbbbbbbbbbbbbbbbbbb.dsql.us-east-1.on.aws\n"

// TestSwitchingProfilesLeavesNothingOfTheFirst: a then b in real shells and through exec
// leaves none of a's variables.
func TestSwitchingProfilesLeavesNothingOfTheFirst(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", switchProfiles)
	check := func(t *testing.T, out string) {
		env := "\n" + out
		for _, v := range []string{"PGAPPNAME=", "PGCONNECT_TIMEOUT=", "PGOPTIONS=", "PGSERVICE=", "PGHOSTADDR="} {
			if strings.Contains(env, "\n"+v) {
				t.Errorf("%s survived the switch to b", v)
			}
		}
		if !strings.Contains(env, "\nPGHOST=bbbb") || !strings.Contains(env, "\nDSQLENV_PROFILE=b\n") || !strings.Contains(env, "\nKEEP=kept\n") {
			t.Errorf("after the switch:\n%s", out)
		}
	}
	for shell, dialect := range map[string]string{"bash": "bash", "zsh": "zsh", "dash": "sh", "fish": "fish"} {
		t.Run(shell, func(t *testing.T) {
			path := testkit.RequireTool(t, shell)
			script := `eval "$("$BIN" ` + dialect + ` a)" && eval "$("$BIN" ` + dialect + ` b)" && env`
			if shell == "fish" {
				script = `"$BIN" fish a | source; and "$BIN" fish b | source; and env`
			}
			cmd := exec.Command(path, "-c", script)
			cmd.Env = append(awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "KEEP=kept", "PGSERVICE=x", "PGHOSTADDR=127.0.0.2"), "BIN="+binPath)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			check(t, string(out))
		})
	}
	t.Run("exec", func(t *testing.T) {
		testkit.UnixOnly(t, "runs env; exec on Windows: TestWindowsExecPassesArgumentsEnvironmentAndStatus")
		r := runBin(t, awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "KEEP=kept", "PGAPPNAME=app-a", "PGCONNECT_TIMEOUT=7", "PGOPTIONS=-c x=y", "PGSERVICE=x"), "exec", "b", "--", "env")
		if r.code != 0 {
			t.Fatalf("exec: %+v", r)
		}
		check(t, r.stdout)
	})
}

// TestUnquotedEvalSetsEveryVariable: eval $(dsqlenv bash p), without the double quotes, sets
// every variable exactly, the token included, in bash, zsh and dash.
func TestUnquotedEvalSetsEveryVariable(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  p:\n    endpoint: pppppppppppppppppppppppppp.dsql.us-east-1.on.aws\n    application_name: a'b&c|d\n    options: -c=x\n")
	for _, shell := range []string{"bash", "zsh", "dash"} {
		t.Run(shell, func(t *testing.T) {
			path := testkit.RequireTool(t, shell)
			cmd := exec.Command(path, "-c", `eval $("$BIN" bash p) && env`)
			cmd.Dir = t.TempDir()
			cmd.Env = append(awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "PGOPTIONS=stale"), "BIN="+binPath)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			env := "\n" + string(out)
			for _, want := range []string{"PGHOST=pppppppppppppppppppppppppp.dsql.us-east-1.on.aws", "PGAPPNAME=a'b&c|d", "PGOPTIONS=-c=x", "PGSSLMODE=verify-full", "DSQLENV_PROFILE=p"} {
				if !strings.Contains(env, "\n"+want+"\n") {
					t.Errorf("%s missing after an unquoted eval:\n%s", want, out)
				}
			}
			i := strings.Index(env, "\nPGPASSWORD=")
			if i < 0 {
				t.Fatalf("no PGPASSWORD:\n%s", out)
			}
			tok, _, _ := strings.Cut(env[i+len("\nPGPASSWORD="):], "\n")
			if _, err := testkit.CheckSigV4(tok, testkit.ExampleSecret); err != nil {
				t.Errorf("the token did not survive an unquoted eval: %v", err)
			}
		})
	}
}
