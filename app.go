package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/adrg/xdg"
	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // the command could not do its job: bad profiles file, no credentials, I/O
	exitUsage = 2 // the command line itself is wrong: unknown command, missing argument, bad flag
)

// Env is everything a command may touch outside the process: tests pass their own.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Now            func() time.Time
	Mint           profiles.Minter

	onSuccess []func() // deferred writes that only a command that succeeded may make
}

// succeeded runs the writes a successful command leaves behind (the profiles parse cache).
func (e *Env) succeeded() {
	for _, f := range e.onSuccess {
		f()
	}
	e.onSuccess = nil
}

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// Run runs dsqlenv with args (args[0] is the program name) and returns the exit status. It is
// the only place that prints an error.
func Run(ctx context.Context, e *Env, args []string) int {
	if code, ok := fastRun(ctx, e, args); ok {
		return code
	}
	return runCLI(ctx, e, newApp(e, commandOf(args)), args)
}

func runCLI(ctx context.Context, e *Env, app *cli.App, args []string) int {
	return finish(e, app.RunContext(ctx, args))
}

// finish prints err, if any, as the one `dsqlenv: …` line and returns the exit status.
func finish(e *Env, err error) int {
	if err == nil {
		e.succeeded()
		return exitOK
	}
	var se *silentError
	if !errors.As(err, &se) {
		fmt.Fprintf(e.Stderr, "dsqlenv: %s\n", strings.TrimPrefix(err.Error(), "dsqlenv: "))
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	// Only dsqlenv's own statuses count: an error from a credential_process carries the
	// process's exit status, which must not become dsqlenv's.
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	if errors.As(err, &se) {
		return se.code
	}
	return exitError
}

// codedError is an error with a specific exit status (exec's 126 and 127).
type codedError struct {
	msg  string
	code int
}

func (e *codedError) Error() string { return e.msg }

// silentError carries an exit status for a command that has already said what went wrong.
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// The environment variables behind --config and --timeout are read by envSettings, not by
// urfave/cli: its EnvVars would let DSQLENV_CONFIG beat a --config given before the command.
var configFlag = &cli.StringFlag{
	Name:    "config",
	Aliases: []string{"c"},
	Usage:   "read profiles from `FILE` (default: $DSQLENV_CONFIG, else $XDG_CONFIG_HOME/dsqlenv/profiles.yaml)",
}

var debugFlag = &cli.BoolFlag{
	Name:  "debug",
	Usage: "explain each step on stderr (token signatures redacted)",
}

// defaultTimeout bounds the whole token path, so a hung credential_process or SSO endpoint
// cannot hang a shell start-up for ever.
const defaultTimeout = 30 * time.Second

var timeoutFlag = &cli.DurationFlag{
	Name:  "timeout",
	Usage: "give up getting AWS credentials and signing after `DURATION` (default: $DSQLENV_TIMEOUT, else 30s)",
}

// tokenFlags are the flags of every command that mints a token.
var tokenFlags = []cli.Flag{configFlag, debugFlag, timeoutFlag}

func withTokenFlags(extra ...cli.Flag) []cli.Flag {
	return append(append([]cli.Flag{}, tokenFlags...), extra...)
}

// newApp builds the command line. With only set, it holds that one command: building and
// setting up all of them costs about a millisecond at every start (make bench), and a run
// only ever looks at the command it runs. An empty only builds all of them.
func newApp(e *Env, only string) *cli.App {
	app := &cli.App{
		Name:      "dsqlenv",
		Usage:     "fresh Aurora DSQL auth tokens and libpq settings for your shell",
		UsageText: "dsqlenv [--config FILE] SHELL PROFILE\n   dsqlenv COMMAND [options] [arguments...]",
		Description: `dsqlenv reads named cluster profiles from a YAML file, mints an IAM auth token
with your AWS credentials and prints shell code that sets PGPASSWORD, PGSSLMODE,
PGSSLROOTCERT and the other libpq variables, so the next psql connects.

Shells: ` + strings.Join(emit.Names(), ", ") + `

Exit status: 0 on success, 1 when the command could not do its job (profiles
file, credentials, files), 2 for a wrong command line. On failure nothing runnable
is printed: bash, zsh, sh and fish get a lone "false", so
eval "$(dsqlenv bash prod)" && psql stops.

Examples:
   eval "$(dsqlenv bash prod)"        # bash, zsh, sh
   dsqlenv fish prod | source
   dsqlenv powershell prod | iex
   for /f "delims=" %i in ('dsqlenv cmd prod') do @%i
   dsqlenv list
   dsqlenv show prod`,
		Version:         version,
		Reader:          e.Stdin,
		Writer:          e.Stdout,
		ErrWriter:       e.Stderr,
		HideHelpCommand: true,
		Flags:           tokenFlags,
		// Errors are printed once, by Run; urfave/cli must not exit or print them itself.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usagef("%s (see dsqlenv --help)", err)
		},
		Action: func(c *cli.Context) error {
			if !c.Args().Present() {
				c.App.Writer = e.Stderr
				_ = cli.ShowAppHelp(c)
				return &silentError{exitUsage}
			}
			return unknownCommand(c.Args().First())
		},
	}
	if only != "" && isShell(only) {
		app.Commands = []*cli.Command{shellCommand(e, only)}
	} else {
		if only == "" {
			app.Commands = shellCommands(e)
		}
		for _, cmd := range append(append(otherCommands(e), fileCommands(e)...),
			execCommand(e), certCommand(e), doctorCommand(e), hookCommand(e), completionCommand(e), completeCommand(e)) {
			if only == "" || cmd.Name == only {
				app.Commands = append(app.Commands, cmd)
			}
		}
	}
	for _, cmd := range app.Commands {
		if cmd.OnUsageError == nil {
			name := cmd.Name
			cmd.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
				return usagef("%s: %s (see dsqlenv %s --help)", name, err, name)
			}
		}
	}
	return app
}

// commandOf is the command a command line runs, when newApp may build it alone: the first
// word after the global flags, if it names a command. Anything else (help, --version, an
// unknown flag or command, completion, which lists every command) needs the whole app.
func commandOf(args []string) string {
	_, rest, ok := splitGlobal(args[1:])
	if !ok || len(rest) == 0 {
		return ""
	}
	if a := rest[0]; isShell(a) || slices.Contains(commandNames(), a) {
		return a
	}
	return "" // help, h, __complete, a flag such as --help, or an unknown word
}

// splitGlobal splits the leading global flags off a command line (without the program name):
// --config FILE, -c FILE, --config=FILE, -c=FILE, --timeout D, --timeout=D and --debug, by
// name ("config", "timeout", "debug"). ok is false when another flag comes first (--help,
// --version, a typo, or a spelling such as -config that only urfave/cli should judge).
func splitGlobal(args []string) (flags map[string]string, rest []string, ok bool) {
	flags = map[string]string{}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		switch {
		case a == "--debug":
			flags["debug"] = "true"
		case a == "-c" || a == "--config" || a == "--timeout":
			if len(args) < 2 {
				return nil, nil, false
			}
			flags[globalName(a)] = args[1]
			args = args[1:]
		case strings.HasPrefix(a, "-c=") || strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "--timeout="):
			name, value, _ := strings.Cut(a, "=")
			flags[globalName(name)] = value
		default:
			return nil, nil, false
		}
		args = args[1:]
	}
	return flags, args, true
}

func globalName(flag string) string {
	if flag == "-c" {
		return "config"
	}
	return strings.TrimLeft(flag, "-")
}

func commandNames() []string {
	return []string{"list", "show", "token", "exec", "init", "service", "pgpass", "cert", "doctor", "hook", "completion"}
}

func unknownCommand(name string) error {
	all := append(emit.Names(), commandNames()...)
	msg := fmt.Sprintf("unknown command or shell %q", name)
	if close := profiles.Closest(name, all); len(close) > 0 {
		msg += fmt.Sprintf(": did you mean %q?", close[0])
	}
	return usagef("%s; shells: %s; commands: %s", msg, strings.Join(emit.Names(), ", "), strings.Join(commandNames(), ", "))
}

// settings are the global options the commands that read profiles or mint tokens share.
type settings struct {
	ctx     context.Context
	config  string // --config or DSQLENV_CONFIG; empty for the default file
	debug   bool
	timeout time.Duration
	err     error // a DSQLENV_TIMEOUT that is not a duration, reported by mint
}

// envSettings are the settings from the environment alone.
func envSettings(ctx context.Context, e *Env) settings {
	s := settings{ctx: ctx, config: e.Getenv("DSQLENV_CONFIG"), timeout: defaultTimeout}
	if v := e.Getenv("DSQLENV_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			s.err = fmt.Errorf("DSQLENV_TIMEOUT=%q is not a duration such as 10s or 2m: fix or unset it", v)
		} else {
			s.timeout = d
		}
	}
	return s
}

// settingsOf is envSettings overridden by the flags, given before or after the command.
func settingsOf(c *cli.Context, e *Env) settings {
	s := envSettings(c.Context, e)
	if v := flagString(c, "config"); v != "" {
		s.config = v
	}
	s.debug = flagBool(c, "debug")
	for _, cc := range c.Lineage() {
		if cc.IsSet("timeout") {
			s.timeout, s.err = cc.Duration("timeout"), nil
			if s.timeout <= 0 {
				s.err = usagef("--timeout %s: give a duration above zero, such as 10s", s.timeout)
			}
			break
		}
	}
	return s
}

// configPath is --config, DSQLENV_CONFIG, or the first profiles.yaml in the XDG config
// directories; when none exists, the XDG config home path (named in the error).
func (s settings) configPath() string {
	if s.config != "" {
		return s.config
	}
	return defaultConfigPath()
}

// defaultConfigPath is DSQLENV_CONFIG, else the first profiles.yaml in the XDG config
// directories, else the XDG config home path (named in the error when it does not exist).
func defaultConfigPath() string {
	if p := os.Getenv("DSQLENV_CONFIG"); p != "" {
		return p
	}
	if p, err := xdg.SearchConfigFile(filepath.Join("dsqlenv", "profiles.yaml")); err == nil {
		return p
	}
	return filepath.Join(xdg.ConfigHome, "dsqlenv", "profiles.yaml")
}

// loadProfiles reads the profiles file through the parse cache; the cache is written only if
// the command succeeds (see Env.succeeded).
func (s settings) loadProfiles(e *Env) (*profiles.File, error) {
	f, save, err := profiles.LoadCached(s.configPath(), cacheDir())
	if err == nil {
		e.onSuccess = append(e.onSuccess, save)
	}
	return f, err
}

// cacheDir holds parsed copies of profiles files (see profiles.LoadCached).
func cacheDir() string { return filepath.Join(xdg.CacheHome, "dsqlenv") }

// oneArg returns the single PROFILE argument or a usage error.
func oneArg(c *cli.Context, what string) (string, error) {
	switch c.NArg() {
	case 0:
		return "", usagef("%s: missing %s (usage: dsqlenv %s %s)", c.Command.Name, what, c.Command.Name, c.Command.ArgsUsage)
	case 1:
		return c.Args().First(), nil
	}
	return "", usagef("%s: expected one %s, got %d arguments: %s (flags go before the %s)", c.Command.Name, what, c.NArg(), strings.Join(c.Args().Slice(), " "), what)
}

func homeDir() string {
	h, _ := os.UserHomeDir()
	return h
}

func (s settings) debugf(e *Env, format string, args ...any) {
	if s.debug {
		fmt.Fprintf(e.Stderr, "dsqlenv: debug: "+format+"\n", args...)
	}
}

func xdgConfigHome() string { return xdg.ConfigHome }

// flagString finds a flag given either before the command (dsqlenv --config F bash prod) or
// after it (dsqlenv bash --config F prod): the innermost setting wins.
func flagString(c *cli.Context, name string) string {
	for _, cc := range c.Lineage() {
		if v := cc.String(name); v != "" {
			return v
		}
	}
	return ""
}

func flagBool(c *cli.Context, name string) bool {
	for _, cc := range c.Lineage() {
		if cc.Bool(name) {
			return true
		}
	}
	return false
}
