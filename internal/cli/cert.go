package cli

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/pgfile"
	"github.com/dsqlenv/dsqlenv/profiles"
	"github.com/dsqlenv/dsqlenv/templates"
)

func certCommand(r *run) *cli.Command {
	return &cli.Command{
		Name:     "cert",
		Category: "Commands",
		Usage:    "write the bundled Amazon Root CA 1 to a file and print its path",
		Description: `Writes Amazon Root CA 1, the root of every DSQL endpoint's certificate, to
$XDG_DATA_HOME/dsqlenv/AmazonRootCA1.pem when it is missing or different, checks its
SHA-256 fingerprint, and prints the path. A profile can say sslrootcert: amazon to use it.
Windows shells get it in place of sslrootcert=system, which psql on Windows cannot use
("SSL error: unregistered scheme").

Examples:
   dsqlenv cert
   dsqlenv cert --pem > AmazonRootCA1.pem
   psql "host=… sslmode=verify-full sslrootcert=$(dsqlenv cert)"`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "pem", Usage: "print the PEM itself instead of writing a file"}},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("cert: takes no arguments, got %s", c.Args().First())
			}
			return certRun(r, c.Bool("pem"))
		},
	}
}

func certRun(r *run, pemOnly bool) error {
	if err := checkAmazonRoot(); err != nil {
		return err
	}
	if pemOnly {
		_, err := r.out.Write(templates.AmazonRootCA1)
		return err
	}
	r.stageAmazonRoot()
	_, err := fmt.Fprintln(&r.out, r.amazonRootPath())
	return err
}

// amazonRoot parses the embedded certificate.
func amazonRoot() (*x509.Certificate, error) {
	block, _ := pem.Decode(templates.AmazonRootCA1)
	if block == nil {
		return nil, fmt.Errorf("the bundled Amazon Root CA 1 is not PEM")
	}
	return x509.ParseCertificate(block.Bytes)
}

// checkAmazonRoot refuses to hand out a bundled root whose fingerprint is not Amazon's.
func checkAmazonRoot() error {
	block, _ := pem.Decode(templates.AmazonRootCA1)
	if block == nil {
		return fmt.Errorf("the bundled Amazon Root CA 1 is not PEM: the binary is damaged")
	}
	sum := sha256.Sum256(block.Bytes)
	if hex.EncodeToString(sum[:]) != templates.AmazonRootCA1SHA256 {
		return fmt.Errorf("the bundled Amazon Root CA 1 has fingerprint %x, not %s: the binary is damaged", sum, templates.AmazonRootCA1SHA256)
	}
	return nil
}

// amazonRootPath is where the bundled root is written.
func (r *run) amazonRootPath() string {
	return filepath.Join(r.Paths.DataHome, "dsqlenv", "AmazonRootCA1.pem")
}

// stageAmazonRoot writes the bundled root, once the command has succeeded, when the file is
// missing or different: atomically and world-readable.
func (r *run) stageAmazonRoot() {
	path := r.amazonRootPath()
	r.stage("amazon-root", func() (string, error) {
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, templates.AmazonRootCA1) {
			return "", nil
		}
		written, err := pgfile.Update(path, 0o644, func([]byte) ([]byte, error) { return templates.AmazonRootCA1, nil })
		if err != nil {
			return "", fmt.Errorf("writing Amazon Root CA 1: %v", err)
		}
		return "", os.Chmod(written, 0o644)
	})
}

// rootCertFor is the sslrootcert value for a connection: `amazon` becomes the bundled root's
// file, and so does `system` for Windows shells, because psql on Windows fails
// sslrootcert=system with "SSL error: unregistered scheme" (AWS DSQL documentation). The file
// is staged, so it is written only if the command succeeds.
func (r *run) rootCertFor(conn *profiles.Connection, windows bool) (string, error) {
	switch {
	case conn.SSLRootCert == profiles.RootAmazon:
	case conn.SSLRootCert == profiles.RootSystem && windows:
		r.stage("system-note", func() (string, error) {
			return fmt.Sprintf("note: sslrootcert system is written as %s for Windows psql, which cannot use system (\"SSL error: unregistered scheme\")", r.amazonRootPath()), nil
		})
	default:
		return conn.SSLRootCert, nil
	}
	if err := checkAmazonRoot(); err != nil {
		return "", err
	}
	r.stageAmazonRoot()
	return r.amazonRootPath(), nil
}
