package cli

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/internal/roots"
	"github.com/dsqlenv/dsqlenv/pgfile"
	"github.com/dsqlenv/dsqlenv/profiles"
)

func certCommand(r *run) *cli.Command {
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
		Flags: []cli.Flag{&cli.BoolFlag{Name: "pem", Usage: "print the PEM itself instead of writing a file"}},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return certRun(r, c.Bool("pem"))
		},
	}
}

func certRun(r *run, pemOnly bool) error {
	if err := roots.Check(); err != nil {
		return err
	}
	if pemOnly {
		_, err := r.out.Write(roots.PEM)
		return err
	}
	r.stageAmazonRoot()
	_, err := fmt.Fprintln(&r.out, r.amazonRootPath())
	return err
}

// amazonRootPath is where the bundled roots are written: one name for as long as the bundle
// holds Amazon's roots, since service files and shells keep the path.
func (r *run) amazonRootPath() string {
	return filepath.Join(r.Paths.DataHome, "dsqlenv", "AmazonRootCAs.pem")
}

// stageAmazonRoot writes the bundled roots, once the command has succeeded and before its
// own files (a precondition: a service file must never name a roots file that could not be
// written), when the file is missing or different: atomically, world-readable, and never
// through a link or into a directory someone else can write (pgfile.Replace).
func (r *run) stageAmazonRoot() {
	path := r.amazonRootPath()
	r.stagePrecondition("amazon-root", func() (func(), error) {
		// Checked before the file is written, not at every run: parsing four certificates
		// costs a tenth of a block's instructions (make bench).
		undo, err := pgfile.Replace(path, roots.PEM, 0o644, roots.Check)
		if err != nil {
			return nil, fmt.Errorf("writing the Amazon root CAs: %v", err)
		}
		return undo, nil
	})
}

// rootCertFor is the sslrootcert value for a connection: `amazon` (the default) becomes the
// bundled roots' file, an absolute path, which every libpq reads; and so does `system` for
// Windows shells, because psql on Windows fails sslrootcert=system with "SSL error:
// unregistered scheme" (AWS DSQL documentation). The file is staged, so it is written only if
// the command succeeds.
func (r *run) rootCertFor(conn *profiles.Connection, windows bool) (string, error) {
	switch {
	case conn.SSLRootCert == profiles.RootAmazon:
	case conn.SSLRootCert == profiles.RootSystem && windows:
		r.note("system-note", fmt.Sprintf("note: sslrootcert system is written as %s (the bundled Amazon roots) for Windows psql, which cannot use system (\"SSL error: unregistered scheme\")", r.amazonRootPath()))
	default:
		return conn.SSLRootCert, nil
	}
	r.stageAmazonRoot()
	return r.amazonRootPath(), nil
}
