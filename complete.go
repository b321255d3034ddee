package main

import (
	"bufio"
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// completeCommand is the hidden `dsqlenv __complete --cur=WORD [WORDS...]` the completion
// scripts call: WORDS are the words before the cursor (without the program name), WORD the
// one being completed. It prints one candidate per line and never an error: a broken profiles
// file must not spray messages into the middle of a command line. The current word travels
// as --cur= because Windows PowerShell drops empty arguments to native programs.
func completeCommand(e *Env) *cli.Command {
	return &cli.Command{
		Name:            "__complete",
		Hidden:          true,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) == 0 || !strings.HasPrefix(args[0], "--cur=") {
				return usagef("__complete: usage: dsqlenv __complete --cur=WORD [WORDS...]")
			}
			out := bufio.NewWriter(e.Stdout)
			for _, s := range complete(c.App, args[1:], strings.TrimPrefix(args[0], "--cur=")) {
				fmt.Fprintln(out, s)
			}
			return out.Flush()
		},
	}
}

// hookShellNames are the shells `hook` and `completion` take.
var hookShellNames = []string{"bash", "fish", "powershell", "zsh"}

// complete returns the candidates for cur, given the words before it.
func complete(app *cli.App, words []string, cur string) []string {
	var cmd *cli.Command
	config := ""
	args := 0 // positional arguments after the command
	takesValue := func(name string) bool {
		for _, f := range flagsOf(app, cmd) {
			for _, n := range f.Names() {
				if n == name {
					_, isBool := f.(*cli.BoolFlag)
					return !isBool
				}
			}
		}
		return false
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			args++ // what follows exec's -- is another program's command line
			continue
		}
		if strings.HasPrefix(w, "-") && len(w) > 1 {
			name, value, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			if !hasValue && takesValue(name) && i+1 < len(words) {
				i++
				value = words[i]
			}
			if name == "config" || name == "c" {
				config = value
			}
			continue
		}
		if cmd == nil {
			if cmd = app.Command(w); cmd == nil {
				return nil
			}
			continue
		}
		args++
	}
	// A flag's value is completed by the shell (a file name, a duration): nothing from here.
	if len(words) > 0 {
		last := words[len(words)-1]
		if strings.HasPrefix(last, "-") && !strings.Contains(last, "=") && takesValue(strings.TrimLeft(last, "-")) {
			return nil
		}
	}
	var cands []string
	switch {
	case strings.HasPrefix(cur, "-"):
		for _, f := range flagsOf(app, cmd) {
			for _, n := range f.Names() {
				if len(n) > 1 {
					cands = append(cands, "--"+n)
				}
			}
		}
		if cmd != nil && !cmd.HideHelp {
			cands = append(cands, "--help")
		}
	case cmd == nil:
		for _, c := range app.VisibleCommands() {
			cands = append(cands, c.Name)
		}
	case cmd.Name == "hook" || cmd.Name == "completion":
		if args == 0 {
			cands = hookShellNames
		}
	case cmd.Name == "service" || cmd.Name == "pgpass",
		args == 0 && (isShell(cmd.Name) || cmd.Name == "show" || cmd.Name == "token" || cmd.Name == "exec" || cmd.Name == "doctor"):
		cands = profileNames(config)
	}
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c, cur) {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

func isShell(name string) bool {
	_, ok := emit.ForShell(name)
	return ok
}

func flagsOf(app *cli.App, cmd *cli.Command) []cli.Flag {
	if cmd == nil {
		return app.Flags
	}
	return cmd.Flags
}

// profileNames reads the profile names from the profiles file: --config on the command line
// being completed, else DSQLENV_CONFIG or the default file. Errors give no names.
func profileNames(config string) []string {
	path := config
	if path == "" {
		path = defaultConfigPath()
	}
	f, save, err := profiles.LoadCached(path, cacheDir())
	if err != nil {
		return nil
	}
	save()
	return f.Names()
}

func completionCommand(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Category:  "Shell set-up",
		Usage:     "print a completion script for commands, flags and profile names",
		ArgsUsage: "bash|zsh|fish|powershell",
		Description: `Prints a script that completes dsqlenv's commands, shells and flags, and profile
names read from the profiles file (--config on the command line, DSQLENV_CONFIG
or the default file) each time you press Tab.

Examples:
   eval "$(dsqlenv completion bash)"                          # ~/.bashrc
   eval "$(dsqlenv completion zsh)"                           # ~/.zshrc, after compinit
   dsqlenv completion fish > ~/.config/fish/completions/dsqlenv.fish
   dsqlenv completion powershell | Out-String | Invoke-Expression   # $PROFILE`,
		Action: func(c *cli.Context) error {
			shell, err := oneArg(c, "SHELL")
			if err != nil {
				return err
			}
			return runScript(e, "completion", shell)
		},
	}
}
