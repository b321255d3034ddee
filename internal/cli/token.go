package cli

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"
)

// tokenOptions are what `dsqlenv token` is told on its command line.
type tokenOptions struct {
	global
	profile string
}

func newTokenCommand(r *run) *cli.Command {
	var o tokenOptions
	return &cli.Command{
		Name:      "token",
		Category:  "Commands",
		Usage:     "print a bare auth token for PROFILE",
		ArgsUsage: "PROFILE",
		Description: `Like aws dsql generate-db-connect-auth-token: one line, the token.

Examples:
   PGPASSWORD="$(dsqlenv token prod)" psql service=prod`,
		Action: func(c *cli.Context) error {
			var err error
			if o.profile, err = oneArg(c, "PROFILE"); err != nil {
				return err
			}
			o.global = r.globals()
			return runToken(c.Context, r, o)
		},
	}
}

func runToken(ctx context.Context, r *run, o tokenOptions) error {
	s, err := r.resolve(o.global, o.profile, noRootCert)
	if err != nil {
		return err
	}
	if err := r.mint(ctx, o.global, s); err != nil {
		return err
	}
	_, err = fmt.Fprintln(&r.out, s.token)
	return err
}
