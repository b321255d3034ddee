package cli

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/profiles"
)

// completeCommand is the hidden `dsqlenv __complete --cur=WORD [WORDS...]` the completion
// scripts call: WORDS are the words before the cursor (without the program name), WORD the
// one being completed. It prints one candidate per line and never an error: a broken profiles
// file must not spray messages into the middle of a command line. The current word travels
// as --cur= because Windows PowerShell drops empty arguments to native programs.
func newCompleteCommand(r *run) *cli.Command {
	var o completeOptions
	return &cli.Command{
		Name:            "__complete",
		Hidden:          true,
		SkipFlagParsing: true,
		ArgsUsage:       "--cur=WORD [WORDS...]",
		Action: func(c *cli.Context) error {
			got, err := args(c, "--cur=WORD", 1, -1)
			if err != nil {
				return err
			}
			if !strings.HasPrefix(got[0], "--cur=") {
				return usagef("__complete: usage: dsqlenv __complete --cur=WORD [WORDS...]")
			}
			o.app, o.cur, o.words = c.App, strings.TrimPrefix(got[0], "--cur="), got[1:]
			return runComplete(c.Context, r, o)
		},
	}
}

// completeOptions are the words __complete is given, and the app whose commands it completes.
type completeOptions struct {
	app   *cli.App
	cur   string   // the word being completed
	words []string // the words before it
}

func runComplete(_ context.Context, r *run, o completeOptions) error {
	for _, s := range complete(r, o.app, o.words, o.cur) {
		fmt.Fprintln(&r.out, s)
	}
	return nil
}

// complete returns the candidates for cur, given the words before it. It reads the words
// with the dispatcher's own splitLine, and each command's candidates from its ArgsUsage:
// PROFILE arguments get profile names, a list such as bash|zsh gets those words.
func complete(r *run, app *cli.App, words []string, cur string) []string {
	l := splitLine(app, words)
	if l.pending != "" || (l.name != "" && l.cmd == nil) {
		return nil // a flag's value (a file, a duration) is the shell's to complete
	}
	var cands []string
	switch {
	case strings.HasPrefix(cur, "-"):
		flags := app.Flags // before a command: the global flags, --help and --version
		if l.cmd != nil {
			// After one: its own and the global flags (valid anywhere), and --help below;
			// --version is the app's alone.
			flags = append(append([]cli.Flag{}, l.cmd.Flags...), r.globalFlags()...)
		}
		for _, f := range flags {
			for _, n := range f.Names() {
				if len(n) > 1 {
					cands = append(cands, "--"+n)
				}
			}
		}
		if l.cmd != nil {
			cands = append(cands, "--help")
		}
	case l.cmd == nil:
		for _, c := range app.VisibleCommands() {
			cands = append(cands, c.Names()...)
		}
	default:
		cands = argCandidates(r, l)
	}
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c, cur) {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// argCandidates reads what the next positional argument may be from the command's ArgsUsage.
func argCandidates(r *run, l commandLine) []string {
	usage := strings.Fields(l.cmd.ArgsUsage)
	n := len(l.args)
	if n >= len(usage) {
		if len(usage) == 0 || !strings.HasSuffix(usage[len(usage)-1], "...]") {
			return nil
		}
		n = len(usage) - 1 // [PROFILE...] repeats
	}
	arg := strings.Trim(usage[n], "[].")
	switch {
	case arg == "PROFILE":
		f, err := profiles.Load(r.profilesPath(l.config))
		if err != nil {
			return nil
		}
		// A name that is no profile name (invalid, and it may hold $(…)) never goes onto
		// the command line.
		var names []string
		for _, n := range f.Names() {
			if profiles.IsProfileName(n) {
				names = append(names, n)
			}
		}
		return names
	case strings.Contains(arg, "|"):
		return strings.Split(arg, "|")
	}
	return nil
}
