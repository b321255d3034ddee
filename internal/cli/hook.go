package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/emit"
)

// scriptOptions are what `dsqlenv hook` and `dsqlenv completion` are told on their command
// line: which script, for which shell.
type scriptOptions struct {
	kind  string // hook or completion
	shell string
}

func newHookCommand(r *run) *cli.Command {
	return newScriptCommand(r, "hook", "print a prompt hook that mints a new token before the current one expires",
		`Prints code for your shell's start-up file. Before each prompt, when
DSQLENV_PROFILE is set (a block sets it) and the token expires within
DSQLENV_REFRESH_MARGIN seconds (default 60), the hook runs dsqlenv SHELL again for
that profile, from the profiles file the block came from (DSQLENV_PROFILES_FILE).
It reads the time with the shell's own clock, so a prompt with a fresh token
starts no process. After a failure dsqlenv prints one line and the hook waits
30 s, doubling up to 15 min, before it tries again. It also defines
dsqlenv_prompt, which prints the active profile and its token's time left
("prod 12m") without starting a process, for your prompt.

Examples:
   eval "$(dsqlenv hook bash)"                          # ~/.bashrc
   eval "$(dsqlenv hook zsh)"                           # ~/.zshrc
   dsqlenv hook fish | source                           # ~/.config/fish/config.fish
   dsqlenv hook powershell | Out-String | Invoke-Expression   # $PROFILE`)
}

func newCompletionCommand(r *run) *cli.Command {
	return newScriptCommand(r, "completion", "print a completion script for commands, flags and profile names",
		`Prints a script that completes dsqlenv's commands, shells and flags, and profile
names read from the profiles file (--config on the command line, DSQLENV_CONFIG
or the default file) each time you press Tab.

Examples:
   eval "$(dsqlenv completion bash)"                          # ~/.bashrc
   eval "$(dsqlenv completion zsh)"                           # ~/.zshrc, after compinit
   dsqlenv completion fish > ~/.config/fish/completions/dsqlenv.fish
   dsqlenv completion powershell | Out-String | Invoke-Expression   # $PROFILE`)
}

// newScriptCommand is hook or completion: one SHELL argument, a script from the dialect table.
func newScriptCommand(r *run, kind, usage, description string) *cli.Command {
	o := scriptOptions{kind: kind}
	return &cli.Command{
		Name:        kind,
		Category:    "Shell set-up",
		Usage:       usage,
		ArgsUsage:   strings.Join(emit.ScriptShells(), "|"),
		Description: description,
		Action: func(c *cli.Context) error {
			var err error
			if o.shell, err = oneArg(c, "SHELL"); err != nil {
				return err
			}
			return runScript(c.Context, r, o)
		},
	}
}

// runScript prints the hook or completion script (kind) for a shell, with {{.Bin}} replaced
// by the binary's path quoted for that shell. (A plain replacement: text/template would add
// its packages' start-up cost to every command.)
func runScript(_ context.Context, r *run, o scriptOptions) error {
	kind, shell := o.kind, o.shell
	d, ok := emit.Lookup(shell)
	text := ""
	if ok {
		text = d.Hook
		if kind == "completion" {
			text = d.Completion
		}
	}
	if text == "" {
		return usagef("%s: no %s for %q; shells: %s", kind, kind, shell, strings.Join(emit.ScriptShells(), ", "))
	}
	if !strings.Contains(text, "{{.Bin}}") {
		return fmt.Errorf("%s script without {{.Bin}}: the binary is damaged", kind)
	}
	out := []byte(strings.ReplaceAll(text, "{{.Bin}}", d.Quote(r.selfPath())))
	if d.CRLF {
		out = bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n"))
	}
	_, err := r.out.Write(out)
	return err
}

// selfPath is how a script calls dsqlenv again: the dsqlenv found on PATH when it is this
// very binary (a package manager's symlink survives upgrades), else this binary's own path.
func (r *run) selfPath() string {
	if r.Executable == "" {
		return "dsqlenv"
	}
	if onPath, err := r.lookPath("dsqlenv"); err == nil {
		if abs, err := filepath.Abs(onPath); err == nil && sameFile(abs, r.Executable) {
			return abs
		}
	}
	return r.Executable
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
