// Command dsqlenv prints shell code that connects psql and every libpq program to an Amazon
// Aurora DSQL cluster: a freshly minted IAM auth token as PGPASSWORD, verified TLS and the
// rest of the libpq settings, from named profiles in a YAML file.
package main

import (
	"context"
	"os"
	"time"

	"github.com/dsqlenv/dsqlenv/profiles"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	e := &Env{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
		Now:    time.Now,
		Mint:   profiles.MintWithSDK,
	}
	os.Exit(Run(context.Background(), e, os.Args))
}
