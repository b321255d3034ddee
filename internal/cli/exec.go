package cli

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/emit"
)

// execOptions are what `dsqlenv exec` is told on its command line.
type execOptions struct {
	global
	profile string
	argv    []string // COMMAND and its arguments
}

func newExecCommand(r *run) *cli.Command {
	var o execOptions
	return &cli.Command{
		Name:      "exec",
		Category:  "Commands",
		Usage:     "run COMMAND with a fresh token and PROFILE's libpq variables",
		ArgsUsage: "PROFILE -- COMMAND [ARGS...]",
		Description: `Mints a token for PROFILE and runs COMMAND with the variables a shell block
would set, and without PGSERVICE or any variable of an earlier block that PROFILE
does not set (PGHOSTADDR among them). Nothing is left in your shell. dsqlenv's flags go before
COMMAND; everything from COMMAND on is COMMAND's own.
On Unix dsqlenv replaces itself with COMMAND; on Windows it runs COMMAND and exits
with its status. When COMMAND cannot be found the status is 127, when it cannot be
run 126; when dsqlenv itself fails, 1 or 2.

Examples:
   dsqlenv exec prod -- psql
   dsqlenv exec prod -- pg_dump --schema-only -f schema.sql
   dsqlenv exec prod -- sh -c 'psql -c "select 1" && psql -f migrate.sql'`,
		Action: func(c *cli.Context) error {
			got, err := args(c, "PROFILE and COMMAND", 1, -1)
			if err != nil {
				return err
			}
			o.profile, o.argv = got[0], got[1:]
			if len(o.argv) > 0 && o.argv[0] == "--" {
				o.argv = o.argv[1:]
			}
			if len(o.argv) == 0 {
				return usagef("exec: missing COMMAND after %s, which was read as the PROFILE (usage: dsqlenv exec %s)", o.profile, c.Command.ArgsUsage)
			}
			o.global = r.globals()
			return runExec(c.Context, r, o)
		},
	}
}

func runExec(ctx context.Context, r *run, o execOptions) error {
	g, name, argv := o.global, o.profile, o.argv
	// Find the program first: a typo should not cost a round of credential lookups.
	path, err := r.lookPath(argv[0])
	if err != nil {
		code := exitNotFound
		if !errors.Is(err, exec.ErrNotFound) {
			code = exitCannotRun
		}
		return &codedError{fmt.Sprintf("exec: cannot run %s: %v", argv[0], unwrapExecError(err)), code}
	}
	windows := r.GOOS == "windows"
	s, err := r.resolve(g, name, clientsOf(windows))
	if err != nil {
		return err
	}
	if err := r.mint(ctx, g, s); err != nil {
		return err
	}
	r.stageRoots(s)
	b := s.block()
	for _, v := range b.Set {
		if strings.ContainsRune(v.Value, 0) {
			return renderError(name, "exec", &emit.ValueError{Dialect: "exec", Var: v.Name, Reason: "holds a NUL byte, which no environment can carry"})
		}
	}
	g.debugf(r, "exec %s", path)
	// On Unix nothing of dsqlenv runs after the exec: its writes happen now.
	if err := r.flush(); err != nil {
		return err
	}
	return execProgram(path, argv, childEnv(r.Environ, b, windows))
}

// unwrapExecError drops exec.Error's repetition of the program name.
func unwrapExecError(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}
