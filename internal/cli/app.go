package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/internal/text"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// Run runs dsqlenv with args (args[0] is the program name) and returns the exit status. It is
// the only place that prints an error, and the only place where a command's output and files
// are written: after the command succeeded.
func Run(ctx context.Context, e *Env, args []string) (code int) {
	r := &run{Env: e, args: args[1:]}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if e.Signals != nil {
		done := make(chan struct{})
		defer close(done)
		go r.watchSignals(e.Signals, cancel, done)
	}
	defer func() {
		if p := recover(); p != nil {
			code = r.finish(fmt.Errorf("internal error: %v; please report it with the command line and dsqlenv %s (%s)", p, e.Version, firstFrame(debug.Stack())), exitSoftware)
		}
	}()
	app := newApp(r)
	line := splitLine(app, args[1:])
	r.dialect, r.dialectAt = line.dialect(), line.nameAt
	r.noCommand = line.cmd == nil
	if line.pending != "" {
		// urfave/cli would take the -- before the arguments as the flag's value.
		see := "dsqlenv"
		if line.cmd != nil {
			see += " " + line.name
		}
		return r.finish(usagef("%s needs a value (see %s --help)", line.pending, see), 0)
	}
	return r.finish(app.RunContext(ctx, append([]string{args[0]}, line.normalized()...)), 0)
}

// finish ends the run: on success the staged writes and then the output; on failure the
// dialect's failure output ("false" for the POSIX shells and fish) and one `dsqlenv: …`
// line. code, when not zero, overrides the status err would give.
func (r *run) finish(err error, code int) int {
	code, _ = r.end(err, code)
	return code
}

// end is finish, once: ok is false when the run had already ended (a signal handler and the
// run itself may both try).
func (r *run) end(err error, code int) (_ int, ok bool) {
	r.endMu.Lock()
	defer r.endMu.Unlock()
	if r.ended {
		return code, false
	}
	r.ended = true
	return r.report(err, code), true
}

func (r *run) report(err error, code int) int {
	if serr := r.signalled(); serr != nil {
		err, code = serr, 0
	}
	if err == nil {
		err = r.flush()
	}
	if err == nil {
		out := r.out.Bytes()
		if r.rendered && r.StdoutIsTerminal {
			// Nobody evaluates what reaches a terminal, and a profile value must not retitle
			// or reprogram it: shown, not run, so its control characters are escaped.
			out = []byte(termSafeLines(string(out)))
		}
		if _, werr := r.Stdout.Write(out); werr != nil {
			err = werr
		} else {
			switch {
			case r.rendered && r.StdoutIsTerminal && r.dialect.Unsets:
				d := r.dialect
				if other := r.evaluatingShell(); other != nil {
					d = other // the shell at this terminal is another kind: its own line
				}
				r.say("note: this is %s code for your shell to run, not to read: %s", r.dialect.Title, r.runLine(d))
			case r.rendered && r.StdoutIsPipe && r.dialect.Eval != nil:
				// Piped, to what is most likely the shell that started dsqlenv (eval, source);
				// a file or another program is not told.
				if other := r.evaluatingShell(); other != nil {
					r.say("note: %s started dsqlenv, but this is %s code, which %s cannot run; in %s use: %s", other.Name, r.dialect.Title, other.Name, other.Name, r.runLine(other))
				}
			}
			return exitOK
		}
	}
	switch {
	case r.dialect != nil:
		fmt.Fprint(r.Stdout, r.dialect.Failure)
	case r.noCommand && !r.StdoutIsTerminal:
		// No command, or one dsqlenv does not know (bsah, Bash, bash-prod): any shell may have
		// been meant, and a lone false is what stops eval "$(…)" && psql in all of them while
		// harming no one who does not eval. A person at a terminal gets only the error.
		fmt.Fprint(r.Stdout, unknownFailure)
	}
	var se *silentError
	if !errors.As(err, &se) {
		r.say("%s", strings.TrimPrefix(err.Error(), "dsqlenv: "))
	}
	var ue *usageError
	var ce *codedError
	switch {
	case code != 0:
		return code
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ce):
		return ce.code
	case se != nil:
		return se.code
	}
	// Only dsqlenv's own statuses count: an error from a credential_process carries the
	// process's exit status, which must not become dsqlenv's.
	return exitError
}

// unknownFailure is what a failed line prints when no dialect can be known.
const unknownFailure = "false\n"

// firstFrame is the innermost dsqlenv frame of a panic's stack, for the report.
func firstFrame(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i, l := range lines {
		if strings.Contains(l, "github.com/dsqlenv/dsqlenv/") && !strings.Contains(l, "internal/cli.Run") && i+1 < len(lines) {
			return strings.TrimSpace(lines[i+1])
		}
	}
	return "no frame"
}

// defaultTimeout bounds the whole token path, so a hung credential_process or SSO endpoint
// cannot hang a shell start-up for ever.
const defaultTimeout = 30 * time.Second

// The global flags. They may be given before the command or anywhere after it: splitLine moves
// them in front of the command, onto the app, where they are bound once into the run's
// globalFlagValues. Their environment variables are read by bindGlobals, not by urfave/cli,
// whose EnvVars would let DSQLENV_CONFIG beat a --config given on the command line.
func (r *run) globalFlags() []cli.Flag {
	v := &r.flags
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Destination: &v.config,
			Usage: "read profiles from `FILE` (default: $DSQLENV_CONFIG, else $XDG_CONFIG_HOME/dsqlenv/profiles.yaml)"},
		&cli.BoolFlag{Name: "debug", Destination: &v.debug, Usage: "explain each step on stderr (token signatures redacted)"},
		&cli.GenericFlag{Name: "timeout", Destination: (*durationValue)(&v.timeout), DefaultText: "$DSQLENV_TIMEOUT, else 30s",
			Usage:  "give up getting AWS credentials and signing after `DURATION` (10s, 2m, or whole seconds: 30)",
			Action: func(*cli.Context, any) error { v.timeoutSet = true; return nil }},
	}
}

// durationValue is a flag's duration read as expires_in is read (profiles.ParseDuration): 10s,
// 2m, or whole seconds (30).
type durationValue time.Duration

func (d *durationValue) Set(s string) error {
	v, err := profiles.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

func (d *durationValue) String() string { return time.Duration(*d).String() }

// globalFlagValues are the global flags as the command line gave them.
type globalFlagValues struct {
	config     string
	debug      bool
	timeout    time.Duration
	timeoutSet bool // --timeout was given, even as 0 (which is refused)
}

// globalHelp ends every command's help, which lists only the command's own flags.
const globalHelp = "\n\nGlobal options, anywhere on the line: --config FILE (-c), --debug, --timeout DURATION\n(see dsqlenv --help)."

// global are the settings the global flags and their environment variables give.
type global struct {
	config  string // the profiles file
	debug   bool
	timeout time.Duration
	// timeoutErr is a bad DSQLENV_TIMEOUT, the error of every command that waits for AWS
	// (waitsForAWS).
	timeoutErr error
}

// waitsForAWS is the check of a command about to wait for AWS credentials or an AWS API.
func (g global) waitsForAWS() error { return g.timeoutErr }

// globals are the global settings of this run, bound once before the command runs (the app's
// Before, which refuses a bad --timeout for every command).
func (r *run) globals() global { return r.global }

// bindGlobals turns the global flags into the run's settings, over their environment
// variables. An empty --config means the default file, so that the hooks can pass
// DSQLENV_PROFILES_FILE whether a block set it or not.
func (r *run) bindGlobals() (global, error) {
	v := r.flags
	g := global{timeout: defaultTimeout, debug: v.debug}
	switch env := r.Getenv("DSQLENV_TIMEOUT"); {
	case v.timeoutSet:
		if v.timeout <= 0 {
			return g, usagef("--timeout %s: give a duration above zero, such as 10s", v.timeout)
		}
		g.timeout = v.timeout
	case env != "":
		// Only the commands that wait for AWS read it (timeoutErr): list or show must not
		// fail on it.
		d, err := profiles.ParseDuration(env)
		switch {
		case err != nil:
			g.timeoutErr = fmt.Errorf("DSQLENV_TIMEOUT=%q is not a duration such as 10s or 2m, or whole seconds such as 30: fix or unset it", env)
		case d <= 0:
			g.timeoutErr = fmt.Errorf("DSQLENV_TIMEOUT=%s: give a duration above zero, such as 10s, or unset it", env)
		default:
			g.timeout = d
		}
	}
	g.config = r.profilesPath(v.config)
	return g, nil
}

// profilesPath is the one place that says which profiles file a command reads or init
// writes: --config, else DSQLENV_CONFIG, else the first dsqlenv/profiles.yaml in the XDG
// config directories, else the one in XDG_CONFIG_HOME (named in the error when missing). It is
// absolute, so that blocks can record it for the hook (DSQLENV_PROFILES_FILE).
func (r *run) profilesPath(flag string) string {
	p := flag
	if p == "" {
		p = r.Getenv("DSQLENV_CONFIG")
	}
	if p == "" {
		rel := filepath.Join("dsqlenv", "profiles.yaml")
		p = filepath.Join(r.Paths.ConfigHome, rel)
		for _, dir := range append([]string{r.Paths.ConfigHome}, r.Paths.ConfigDirs...) {
			if st, err := os.Stat(filepath.Join(dir, rel)); err == nil && !st.IsDir() {
				p = filepath.Join(dir, rel)
				break
			}
		}
	}
	return r.userPath(p)
}

// userPath is a path a user gave (a flag, DSQLENV_CONFIG): ~ expanded, made absolute.
func (r *run) userPath(p string) string {
	p = profiles.ExpandHome(p, r.Paths.Home)
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}

func (g global) debugf(r *run, format string, args ...any) {
	if g.debug {
		r.say("debug: %s", fmt.Sprintf(format, args...))
	}
}

// loadProfiles reads the profiles file the global settings name.
func (g global) loadProfiles() (*profiles.File, error) { return profiles.Load(g.config) }

func newApp(r *run) *cli.App {
	app := &cli.App{
		Name:      "dsqlenv",
		Usage:     "fresh Aurora DSQL auth tokens and libpq settings for your shell",
		UsageText: "dsqlenv [--config FILE] SHELL PROFILE\ndsqlenv COMMAND [options] [arguments...]",
		Description: `dsqlenv reads named cluster profiles from a YAML file, mints an IAM auth token
with your AWS credentials and prints shell code that sets PGPASSWORD, PGSSLMODE,
PGSSLROOTCERT and the other libpq variables, so the next psql connects.

Shells: ` + strings.Join(emit.Names(), ", ") + `

Flags may come before or after the command and its PROFILE; a PROFILE is never
read as a help topic or a flag (after --, even "-x" is a PROFILE).

dsqlenv help [COMMAND] is the same as --help.

Exit status: 0 on success, 1 when the command could not do its job (profiles
file, credentials, files), 2 for a wrong command line, 70 for a bug in dsqlenv.
On failure nothing runnable is printed: bash, zsh, sh and fish get a lone
"false", so eval "$(dsqlenv bash prod)" && psql stops.

Examples:
   eval "$(dsqlenv bash prod)"        # bash, zsh, sh
   dsqlenv fish prod | source
   dsqlenv powershell prod | iex
   for /f "delims=" %i in ('dsqlenv cmd prod') do @%i
   dsqlenv exec prod -- psql
   dsqlenv login prod                 # sign in (SSO, MFA) once, cached
   dsqlenv proxy prod                 # a local socket for GUIs and pools
   dsqlenv list
   dsqlenv show prod`,
		Version:         r.Version,
		Reader:          r.Stdin,
		Writer:          &r.out,
		ErrWriter:       r.Stderr,
		HideHelpCommand: true,
		Flags:           r.globalFlags(),
		// Errors are printed once, by Run; urfave/cli must not exit or print them itself.
		ExitErrHandler: func(*cli.Context, error) {},
		Before: func(c *cli.Context) error {
			r.flags.timeoutSet = c.IsSet("timeout")
			var err error
			r.global, err = r.bindGlobals()
			return err
		},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usagef("%s (see dsqlenv --help)", flagError(err, c.App.Flags))
		},
		Action: func(c *cli.Context) error {
			if !c.Args().Present() {
				c.App.Writer = r.Stderr
				_ = cli.ShowAppHelp(c)
				return &silentError{exitUsage}
			}
			if c.Args().First() == "help" {
				return help(c)
			}
			if c.Args().First() == "edit" {
				// A did-you-mean would say init, which never overwrites.
				g := r.globals()
				return usagef("there is no edit command: open %s in your editor (dsqlenv init writes a starter file there; dsqlenv show PROFILE checks a profile)", g.config)
			}
			if name := c.Args().First(); r.isProfile(name) {
				return usagef("%s is a profile, not a command: name the shell first: %s (see dsqlenv --help)", name, r.evalLine(name))
			}
			return unknownCommand(c.App, c.Args().First())
		},
	}
	for _, d := range emit.Dialects {
		app.Commands = append(app.Commands, newShellCommand(r, d))
	}
	app.Commands = append(app.Commands, newListCommand(r), newShowCommand(r), newTokenCommand(r), newExecCommand(r),
		newInitCommand(r), newServiceCommand(r), newPgpassCommand(r), newCertCommand(r), newDoctorCommand(r),
		newHookCommand(r), newCompletionCommand(r), newCompleteCommand(r), newStatusCommand(r), newURLCommand(r), newJDBCCommand(r),
		newProxyCommand(r), newClustersCommand(r), newAddCommand(r), newLoginCommand(r))
	for _, cmd := range app.Commands {
		// A PROFILE named help or h is a profile: only --help and -h ask for help.
		cmd.HideHelpCommand = true
		if !cmd.Hidden {
			cmd.Description += globalHelp
		}
		if cmd.OnUsageError == nil {
			name, flags := cmd.Name, append(append([]cli.Flag{}, app.Flags...), cmd.Flags...)
			cmd.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
				return usagef("%s: %s (see dsqlenv %s --help)", name, flagError(err, flags), name)
			}
		}
	}
	return app
}

// flagError says a flag error of Go's flag package (which urfave/cli uses) in dsqlenv's words:
// flags as they are typed (--timeout, not -timeout), and what a valid value of that flag in
// flags looks like.
func flagError(err error, flags []cli.Flag) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimPrefix(name, "-")
		if len(name) == 1 {
			return "unknown flag -" + name
		}
		return "unknown flag --" + name
	}
	// invalid value "xx" for flag -timeout: parse error
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		if value, flag, ok := strings.Cut(rest, " for flag -"); ok {
			flag, _, _ = strings.Cut(flag, ":")
			flag = strings.TrimPrefix(flag, "-")
			what := "a valid value"
			for _, f := range flags {
				for _, n := range f.Names() {
					if n != flag {
						continue
					}
					switch f := f.(type) {
					case *cli.DurationFlag:
						what = "a duration such as 10s, 2m or 1h30m"
					case *cli.GenericFlag:
						if _, ok := f.Destination.(*durationValue); ok {
							what = "a duration such as 10s, 2m or 1h30m, or whole seconds such as 30"
						}
					case *cli.IntFlag:
						what = "a whole number"
					}
				}
			}
			dash := "--"
			if len(flag) == 1 {
				dash = "-"
			}
			return fmt.Sprintf("%s%s %s: give %s", dash, flag, strings.Trim(value, `"`), what)
		}
	}
	return msg
}

// help is `dsqlenv help [COMMAND]`, the same as --help. It is not a command of urfave/cli's
// (one named help would take the place of its --help flag): the app's Action answers the
// word. Only the first word asks: `dsqlenv bash help` is the profile named help.
func help(c *cli.Context) error {
	var args []string
	for _, a := range c.Args().Slice()[1:] {
		if !isFlag(a) { // the global flags (help --debug) mean nothing here
			args = append(args, a)
		}
	}
	switch {
	case len(args) == 0 || len(args) == 1 && args[0] == "help":
		return cli.ShowAppHelp(c)
	case len(args) == 1:
		if c.App.Command(args[0]) == nil {
			return unknownCommand(c.App, args[0])
		}
		return cli.ShowCommandHelp(c, args[0])
	}
	return usagef("help: expected at most one COMMAND, got %s", strings.Join(args, " "))
}

func unknownCommand(app *cli.App, name string) error {
	var cmds []string
	for _, c := range app.VisibleCommands() {
		if _, isShell := emit.Lookup(c.Name); !isShell {
			cmds = append(cmds, c.Name)
		}
	}
	msg := fmt.Sprintf("unknown command or shell %q", name)
	if close := text.Closest(name, append(emit.Names(), cmds...)); len(close) > 0 {
		msg += fmt.Sprintf(": did you mean %q?", close[0])
	}
	return usagef("%s; shells: %s; commands: %s", msg, strings.Join(emit.Names(), ", "), strings.Join(cmds, ", "))
}

// args is the one check of a command's positional arguments: at least min and at most max
// of them (max < 0: any number), what naming them in the errors (PROFILE, NAME).
func args(c *cli.Context, what string, min, max int) ([]string, error) {
	got, name := c.Args().Slice(), c.Command.Name
	switch {
	case max == 0 && len(got) > 0:
		return nil, usagef("%s: takes no arguments, got %s", name, strings.Join(got, " "))
	case len(got) < min:
		return nil, usagef("%s: missing %s (usage: dsqlenv %s %s)", name, what, name, c.Command.ArgsUsage)
	case max == 1 && len(got) > 1:
		return nil, usagef("%s: expected one %s, got %d: %s", name, what, len(got), strings.Join(got, " "))
	case max > 0 && len(got) > max:
		return nil, usagef("%s: expected at most %d %s, got %d: %s", name, max, what, len(got), strings.Join(got, " "))
	}
	return got, nil
}

// oneArg is args for the one argument most commands take.
func oneArg(c *cli.Context, what string) (string, error) {
	got, err := args(c, what, 1, 1)
	if err != nil {
		return "", err
	}
	return got[0], nil
}

// evaluatingShell is the shell that started dsqlenv when it is another kind than the block's
// (eval (dsqlenv bash prod) in fish, eval "$(dsqlenv fish prod)" in bash), nil when it is the
// same kind or unknown. dash, ksh and the like count as sh.
func (r *run) evaluatingShell() *emit.Dialect {
	if d := r.parentShell(); d != nil && d.Shell != r.dialect.Shell {
		return d
	}
	return nil
}

// parentShell is the dialect of the shell that started dsqlenv, nil when that is unknown or
// no shell dsqlenv prints for.
func (r *run) parentShell() *emit.Dialect {
	if r.ParentName == nil {
		return nil
	}
	return shellDialect(r.ParentName())
}

// runLine is this command line as d's shell runs it: the dialect word changed to d's, each
// argument quoted for d. A line that cannot be shown as it is (an argument with a control
// character, which a terminal must not get) is d's general example instead.
func (r *run) runLine(d *emit.Dialect) string {
	args := slices.Clone(r.args)
	if r.dialectAt < len(args) {
		args[r.dialectAt] = d.Name
	}
	for _, a := range args {
		if strings.ContainsFunc(a, text.IsControl) {
			return strings.SplitN(d.Use, "\n", 2)[0]
		}
	}
	return d.RunLine(args)
}

// shellDialect is the dialect whose output a shell program runs (dash, ksh and the like run
// sh's), nil for a program that is no shell dsqlenv prints for.
func shellDialect(program string) *emit.Dialect {
	switch program {
	case "dash", "ash", "ksh", "mksh", "ksh93", "busybox":
		program = "sh"
	}
	if d, ok := emit.Lookup(program); ok && d.Eval != nil {
		return d
	}
	return nil
}

// isProfile says name is a profile of the profiles file (dsqlenv prod, the shell left out).
func (r *run) isProfile(name string) bool {
	if !profiles.IsProfileName(name) {
		return false
	}
	f, err := r.globals().loadProfiles()
	return err == nil && slices.Contains(f.Names(), name)
}
