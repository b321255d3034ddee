package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/adrg/xdg"
	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/pgfile"
	"github.com/dsqlenv/dsqlenv/profiles"
	"github.com/dsqlenv/dsqlenv/templates"
)

func certCommand(e *Env) *cli.Command {
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
			if c.Bool("pem") {
				if err := checkAmazonRoot(); err != nil {
					return err
				}
				_, err := e.Stdout.Write(templates.AmazonRootCA1)
				return err
			}
			path, err := amazonRootFile()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.Stdout, path)
			return err
		},
	}
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

// amazonRootPath is where amazonRootFile writes the bundled root.
func amazonRootPath() string { return filepath.Join(xdg.DataHome, "dsqlenv", "AmazonRootCA1.pem") }

// amazonRootFile writes the bundled root to dsqlenv's data directory when it is missing or
// different, atomically and world-readable, and returns its path.
func amazonRootFile() (string, error) {
	if err := checkAmazonRoot(); err != nil {
		return "", err
	}
	path := amazonRootPath()
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, templates.AmazonRootCA1) {
		return path, nil
	}
	written, err := pgfile.Update(path, 0o644, func([]byte) ([]byte, error) { return templates.AmazonRootCA1, nil })
	if err != nil {
		return "", fmt.Errorf("writing Amazon Root CA 1: %v", err)
	}
	if err := os.Chmod(written, 0o644); err != nil {
		return "", err
	}
	return written, nil
}

// rootCert is the sslrootcert value to hand libpq, a note for stderr once the command has
// succeeded, and whether it is the bundled root's file, which ensure writes.
type rootCert struct {
	path, note string
	bundled    bool
}

// ensure writes the bundled root when the value names it. Callers run it only once nothing
// else can fail, so that a failed command writes nothing.
func (r rootCert) ensure() error {
	if !r.bundled {
		return nil
	}
	_, err := amazonRootFile()
	return err
}

// rootCertFor is the sslrootcert value for a connection: `amazon` becomes the bundled root's
// file, and so does `system` for Windows shells, because psql on Windows fails
// sslrootcert=system with "SSL error: unregistered scheme" (AWS DSQL documentation).
func rootCertFor(conn *profiles.Connection, windows bool) (rootCert, error) {
	switch {
	case conn.SSLRootCert == profiles.RootAmazon:
		return rootCert{path: amazonRootPath(), bundled: true}, checkAmazonRoot()
	case conn.SSLRootCert == profiles.RootSystem && windows:
		path := amazonRootPath()
		note := fmt.Sprintf("dsqlenv: note: sslrootcert system is written as %s for Windows psql, which cannot use system (\"SSL error: unregistered scheme\")\n", path)
		return rootCert{path: path, note: note, bundled: true}, checkAmazonRoot()
	}
	return rootCert{path: conn.SSLRootCert}, nil
}
