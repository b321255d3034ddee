package cli

import (
	"os/exec"
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
