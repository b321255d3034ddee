package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func tokenCommand(r *run) *cli.Command {
	return &cli.Command{
		Name:      "token",
		Category:  "Commands",
		Usage:     "print a bare auth token for PROFILE",
		ArgsUsage: "PROFILE",
		Description: `Like aws dsql generate-db-connect-auth-token: one line, the token.

Examples:
   PGPASSWORD="$(dsqlenv token prod)" psql service=prod`,
		Action: func(c *cli.Context) error {
			s, err := r.mintProfile(c, noRootCert)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(&r.out, s.token)
			return err
		},
	}
}
