package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/templates"
)

// shellScripts are the snippets `hook` and `completion` print for each shell, with how the
// shell quotes the binary's path and whether its lines end in CRLF.
var shellScripts = map[string]struct {
	hook, completion string
	quote            func(string) string
	crlf             bool
}{
	"bash":       {templates.HookBash, templates.CompletionBash, emit.QuotePOSIX, false},
	"zsh":        {templates.HookZsh, templates.CompletionZsh, emit.QuotePOSIX, false},
	"fish":       {templates.HookFish, templates.CompletionFish, emit.QuoteFish, false},
	"powershell": {templates.HookPowerShell, templates.CompletionPowerShell, emit.QuotePowerShell, true},
	"pwsh":       {templates.HookPowerShell, templates.CompletionPowerShell, emit.QuotePowerShell, true},
}

// runScript prints the hook or completion script (kind) for a shell.
func runScript(e *Env, kind, shell string) error {
	s, ok := shellScripts[shell]
	if !ok {
		return usagef("%s: no %s for %q; shells: bash, zsh, fish, powershell", kind, map[string]string{"hook": "hook", "completion": "script"}[kind], shell)
	}
	text := s.hook
	if kind == "completion" {
		text = s.completion
	}
	return writeScript(e, text, s.quote(selfPath()), s.crlf)
}

func hookCommand(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "hook",
		Category:  "Shell set-up",
		Usage:     "print a prompt hook that mints a new token before the current one expires",
		ArgsUsage: "bash|zsh|fish|powershell",
		Description: `Prints code for your shell's start-up file. Before each prompt, when
DSQLENV_PROFILE is set (a block sets it) and the token expires within
DSQLENV_REFRESH_MARGIN seconds (default 60), the hook runs dsqlenv SHELL
"$DSQLENV_PROFILE" again. It reads the time with the shell's own clock, so a
prompt with a fresh token starts no process. The profiles file is the default one
or DSQLENV_CONFIG. After a failure dsqlenv prints one line and the hook waits 30 s,
doubling up to 15 min, before it tries again.

Examples:
   eval "$(dsqlenv hook bash)"                          # ~/.bashrc
   eval "$(dsqlenv hook zsh)"                           # ~/.zshrc
   dsqlenv hook fish | source                           # ~/.config/fish/config.fish
   dsqlenv hook powershell | Out-String | Invoke-Expression   # $PROFILE`,
		Action: func(c *cli.Context) error { return runHook(c, e) },
	}
}

func runHook(c *cli.Context, e *Env) error {
	shell, err := oneArg(c, "SHELL")
	if err != nil {
		return err
	}
	return runScript(e, "hook", shell)
}

// writeScript renders a snippet with the quoted path of the binary and prints it.
func writeScript(e *Env, text, bin string, crlf bool) error {
	out, err := renderHook(text, bin)
	if err != nil {
		return err
	}
	if crlf {
		out = bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n"))
	}
	_, err = e.Stdout.Write(out)
	return err
}

// renderHook puts the quoted path of the binary where a snippet says {{.Bin}}. (A plain
// replacement: text/template would add its packages' start-up cost to every command.)
func renderHook(text, bin string) ([]byte, error) {
	if !strings.Contains(text, "{{.Bin}}") {
		return nil, fmt.Errorf("snippet without {{.Bin}}: the binary is damaged")
	}
	return []byte(strings.ReplaceAll(text, "{{.Bin}}", bin)), nil
}

// selfPath is how a snippet calls dsqlenv again: the dsqlenv found on PATH when it is this
// very binary (a package manager's symlink survives upgrades), else this binary's own path.
func selfPath() string {
	self, err := os.Executable()
	if err != nil {
		return "dsqlenv"
	}
	if onPath, err := exec.LookPath("dsqlenv"); err == nil {
		if abs, err := filepath.Abs(onPath); err == nil && sameFile(abs, self) {
			return abs
		}
	}
	return self
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
