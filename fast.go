package main

import (
	"context"
	"strings"

	"github.com/dsqlenv/dsqlenv/emit"
)

// fastRun runs the command lines that shell start-up files and prompt hooks run — `SHELL
// PROFILE`, `SHELL --unset`, `hook SHELL`, `completion SHELL` — and a plain `list` or `show
// PROFILE`, after at most --config FILE and --debug, without building the urfave/cli app,
// which costs about 1.5 ms at every start (make bench). Any other shape is not handled here:
// ok is false and Run takes the ordinary path. TestFastPathMatchesTheApp runs the same lines
// both ways and compares everything they print and return.
func fastRun(ctx context.Context, e *Env, args []string) (code int, ok bool) {
	flags, rest, ok := splitGlobal(args[1:])
	if _, timeout := flags["timeout"]; !ok || timeout {
		return 0, false // --timeout is parsed and checked by the app
	}
	s := envSettings(ctx, e)
	if flags["config"] != "" {
		s.config = flags["config"]
	}
	s.debug = flags["debug"] != ""
	if len(rest) == 1 && rest[0] == "list" {
		return finish(e, runList(s, e)), true
	}
	if len(rest) != 2 {
		return 0, false
	}
	cmd, arg := rest[0], rest[1]
	if arg == "--unset" {
		if shell, isShell := emit.ForShell(cmd); isShell {
			return fastShell(e, shell, runUnset(e, cmd, shell)), true
		}
		return 0, false
	}
	// urfave/cli reads `COMMAND help` and `COMMAND h` as a request for help.
	if arg == "" || strings.HasPrefix(arg, "-") || arg == "help" || arg == "h" {
		return 0, false
	}
	switch cmd {
	case "show":
		return finish(e, runShow(s, e, arg)), true
	case "hook", "completion":
		if _, known := shellScripts[arg]; !known {
			return 0, false
		}
		return finish(e, runScript(e, cmd, arg)), true
	}
	shell, isShell := emit.ForShell(cmd)
	if !isShell {
		return 0, false
	}
	return fastShell(e, shell, runShell(s, e, cmd, shell, arg)), true
}

// fastShell prints what a shell command prints on failure and returns the exit status.
func fastShell(e *Env, shell emit.Shell, err error) int {
	if err != nil {
		e.Stdout.Write([]byte(shell.Failure()))
	}
	return finish(e, err)
}
