package cli

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/emit"
)

// commandLine is a command line as the dispatcher's own tables read it: the global flags,
// the command, its flags and its positional arguments. urfave/cli v2 stops reading flags at
// the first positional argument; normalized moves the command's flags in front of them, so
// that `dsqlenv bash prod --debug` works as in git and kubectl, and puts `--` before the
// positional arguments, so that a PROFILE is never read as a flag. Completion reads the same
// structure, so what it offers is what the dispatcher would accept.
type commandLine struct {
	global   []string     // flags before the command, with their values
	name     string       // the command word as written
	nameAt   int          // its index in the words
	cmd      *cli.Command // nil when name is no command
	flags    []string     // the command's flags, wherever they were written, with their values
	args     []string     // positional arguments
	config   string       // the last --config or -c value
	pending  string       // a flag that still needs its value: the last word, or one before --
	help     bool         // -h or --help stands as one of the command's flags (never as a value)
	unparsed []string     // after an unknown command: the rest, untouched
}

// verbatimAfter says after how many positional arguments a command's first word that is not
// a flag starts another program's own command line (exec PROFILE [flags] [--] COMMAND ARGS...),
// whose flags are never dsqlenv's.
var verbatimAfter = map[string]int{"exec": 1}

func splitLine(app *cli.App, words []string) commandLine {
	var l commandLine
	for i := 0; i < len(words); i++ {
		w := words[i]
		if l.cmd != nil {
			n, verbatim := verbatimAfter[l.cmd.Name]
			switch {
			case l.cmd.SkipFlagParsing, verbatim && len(l.args) >= n && !isFlag(w):
				l.args = append(l.args, words[i:]...)
				return l
			case w == "--":
				l.args = append(l.args, words[i+1:]...)
				return l
			}
		}
		if isFlag(w) {
			name, value, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			// A flag the command does not know but the app does (--debug after list) is a
			// global flag wherever it stands.
			flags, dst := app.Flags, &l.global
			if l.cmd != nil && (hasFlag(l.cmd.Flags, name) || !hasFlag(app.Flags, name)) {
				flags, dst = l.cmd.Flags, &l.flags
			}
			*dst = append(*dst, w)
			if (name == "h" || name == "help") && dst == &l.flags {
				l.help = true
			}
			if !hasValue && takesValue(flags, name) {
				// `--config -- bash prod`: -- ends the flags, it is no file name (--config=--
				// still names one).
				if i+1 == len(words) || words[i+1] == "--" {
					l.pending = w
					continue
				}
				i++
				value = words[i]
				*dst = append(*dst, value)
			}
			if name == "config" || name == "c" {
				l.config = value
			}
			continue
		}
		if l.name == "" {
			l.name, l.nameAt = w, i
			if l.cmd = app.Command(w); l.cmd == nil {
				l.unparsed = words[i+1:]
				return l
			}
			continue
		}
		l.args = append(l.args, w)
	}
	return l
}

func isFlag(w string) bool { return len(w) > 1 && w[0] == '-' && w != "--" }

func hasFlag(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// takesValue reports whether a flag of the set needs a value (every kind but a bool).
func takesValue(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}

// normalized is the command line in the order urfave/cli reads: global flags, the command,
// its flags, then -- and the positional arguments.
func (l commandLine) normalized() []string {
	out := append([]string{}, l.global...)
	if l.name == "" {
		return out
	}
	out = append(out, l.name)
	if l.cmd == nil {
		return append(out, l.unparsed...)
	}
	out = append(out, l.flags...)
	if l.help {
		return out // urfave/cli would read the arguments as a help topic
	}
	if len(l.args) > 0 && !l.cmd.SkipFlagParsing {
		out = append(out, "--")
	}
	return append(out, l.args...)
}

// dialect is the shell dialect the line asks for, so that even a failure to read the line
// (an unknown flag before the command, a bad --timeout) prints what that shell needs to
// stop. When the command word is not known, the first word naming a dialect counts:
// `dsqlenv -c bash prod` is still a bash line gone wrong.
func (l commandLine) dialect() *emit.Dialect {
	if l.cmd != nil {
		d, _ := emit.Lookup(l.cmd.Name)
		return d
	}
	for _, w := range append(append(append([]string{}, l.global...), l.name), l.unparsed...) {
		if d, ok := emit.Lookup(w); ok {
			return d
		}
	}
	return nil
}
