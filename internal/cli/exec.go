package cli

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/emit"
)

func execCommand(r *run) *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Category:  "Commands",
		Usage:     "run COMMAND with a fresh token and PROFILE's libpq variables",
		ArgsUsage: "PROFILE -- COMMAND [ARGS...]",
		Description: `Mints a token for PROFILE and runs COMMAND with the variables a shell block
would set, and without PGSERVICE, PGHOSTADDR or any variable of an earlier block
that PROFILE does not set. Nothing is left in your shell. dsqlenv's flags go before
COMMAND; everything from COMMAND on is COMMAND's own.
On Unix dsqlenv replaces itself with COMMAND; on Windows it runs COMMAND and exits
with its status. When COMMAND cannot be found the status is 127, when it cannot be
run 126; when dsqlenv itself fails, 1 or 2.

Examples:
   dsqlenv exec prod -- psql
   dsqlenv exec prod -- pg_dump --schema-only -f schema.sql
   dsqlenv exec prod -- sh -c 'psql -c "select 1" && psql -f migrate.sql'`,
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) == 0 {
				return usagef("exec: missing PROFILE and COMMAND (usage: dsqlenv exec PROFILE -- COMMAND [ARGS...])")
			}
			name, argv := args[0], args[1:]
			if len(argv) > 0 && argv[0] == "--" {
				argv = argv[1:]
			}
			if len(argv) == 0 {
				return usagef("exec: missing COMMAND after %s, which was read as the PROFILE (usage: dsqlenv exec PROFILE -- COMMAND [ARGS...])", name)
			}
			g, err := r.globals()
			if err != nil {
				return err
			}
			return execRun(c, r, g, name, argv)
		},
	}
}

func execRun(c *cli.Context, r *run, g global, name string, argv []string) error {
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
	if err := r.mint(c.Context, g, s); err != nil {
		return err
	}
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
