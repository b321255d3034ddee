package cli

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/internal/roots"
)

// certOptions are what `dsqlenv cert` is told on its command line.
type certOptions struct {
	pem bool
}

func newCertCommand(r *run) *cli.Command {
	var o certOptions
	return &cli.Command{
		Name:     "cert",
		Category: "Commands",
		Usage:    "write the bundled Amazon root CAs (the default sslrootcert) to a file and print its path",
		Description: `Writes Amazon Root CA 1 to 4 (Root CA 1 signs every DSQL endpoint's chain today) to
$XDG_DATA_HOME/dsqlenv/AmazonRootCAs.pem when it is missing or different, checks
their SHA-256 fingerprints, and prints the path. It is what sslrootcert: amazon,
the default, passes to libpq, and what Windows shells get in place of
sslrootcert=system, which psql on Windows cannot use ("SSL error: unregistered scheme").

Examples:
   dsqlenv cert
   dsqlenv cert --pem > AmazonRootCAs.pem
   psql "host=… sslmode=verify-full sslrootcert=$(dsqlenv cert)"`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "pem", Destination: &o.pem, Usage: "print the PEM itself instead of writing a file"}},
		Action: func(c *cli.Context) error {
			if _, err := args(c, "", 0, 0); err != nil {
				return err
			}
			return runCert(c.Context, r, o)
		},
	}
}

func runCert(_ context.Context, r *run, o certOptions) error {
	if err := roots.Check(); err != nil {
		return err
	}
	if o.pem {
		_, err := r.out.Write(roots.PEM)
		return err
	}
	r.stageAmazonRoot()
	_, err := fmt.Fprintln(&r.out, r.amazonRootPath())
	return err
}
