package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/emit"
)

// Exit statuses of exec when the command cannot be run, as sh(1) and env(1) use them.
const (
	exitCannotRun = 126
	exitNotFound  = 127
)

func execCommand(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Category:  "Commands",
		Usage:     "run COMMAND with a fresh token and PROFILE's libpq variables",
		ArgsUsage: "PROFILE -- COMMAND [ARGS...]",
		Description: `Mints a token for PROFILE and runs COMMAND with the variables a shell block
would set, and without PGSERVICE and PGHOSTADDR. Nothing is left in your shell.
On Unix dsqlenv replaces itself with COMMAND; on Windows it runs COMMAND and exits
with its status. When COMMAND cannot be found the status is 127, when it cannot be
run 126; when dsqlenv itself fails, 1 or 2.

Examples:
   dsqlenv exec prod -- psql
   dsqlenv exec prod -- pg_dump --schema-only -f schema.sql
   dsqlenv exec prod -- sh -c 'psql -c "select 1" && psql -f migrate.sql'`,
		Flags:  tokenFlags,
		Action: func(c *cli.Context) error { return runExec(c, e) },
	}
}

func runExec(c *cli.Context, e *Env) error {
	args := c.Args().Slice()
	if len(args) == 0 {
		return usagef("exec: missing PROFILE and COMMAND (usage: dsqlenv exec PROFILE -- COMMAND [ARGS...])")
	}
	name, argv := args[0], args[1:]
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:]
	}
	if len(argv) == 0 {
		return usagef("exec: missing COMMAND after %s (usage: dsqlenv exec %s -- COMMAND [ARGS...])", name, name)
	}
	// Find the program first: a typo should not cost a round of credential lookups.
	path, err := exec.LookPath(argv[0])
	if err != nil {
		code := exitNotFound
		if !errors.Is(err, exec.ErrNotFound) {
			code = exitCannotRun
		}
		return &codedError{fmt.Sprintf("exec: cannot run %s: %v", argv[0], unwrapExecError(err)), code}
	}
	m, err := resolveAndMint(settingsOf(c, e), e, name)
	if err != nil {
		return err
	}
	root, err := rootCertFor(m.conn, runtime.GOOS == "windows")
	if err != nil {
		return err
	}
	vars := connVars(m, root.path)
	for _, v := range vars {
		if strings.ContainsRune(v.Value, 0) {
			return renderError(name, "exec", &emit.ValueError{Dialect: "exec", Var: v.Name, Reason: "holds a NUL byte, which no environment can carry"})
		}
	}
	if err := root.ensure(); err != nil {
		return err
	}
	fmt.Fprint(e.Stderr, root.note)
	settingsOf(c, e).debugf(e, "exec %s", path)
	e.succeeded() // on Unix, nothing of dsqlenv runs after the exec
	return execProgram(path, argv, childEnv(os.Environ(), vars))
}

// childEnv is env without the variables that would redirect the connection and with vars
// set, replacing any earlier values.
func childEnv(env []string, vars []emit.Var) []string {
	drop := map[string]bool{}
	for _, n := range clearVars {
		drop[n] = true
	}
	for _, v := range vars {
		drop[v.Name] = true
	}
	out := make([]string, 0, len(env)+len(vars))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[envKey(name)] {
			out = append(out, kv)
		}
	}
	for _, v := range vars {
		out = append(out, v.Name+"="+v.Value)
	}
	return out
}

// envKey folds a variable name the way the platform compares them: Windows names ignore case.
func envKey(name string) string {
	if runtime.GOOS == "windows" {
		return strings.ToUpper(name)
	}
	return name
}

// unwrapExecError drops exec.Error's repetition of the program name.
func unwrapExecError(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}
