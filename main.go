// Command dsqlenv prints shell code that connects psql and every libpq program to an Amazon
// Aurora DSQL cluster: a freshly minted IAM auth token as PGPASSWORD, verified TLS and the
// rest of the libpq settings, from named profiles in a YAML file.
//
// The program is cli.Main, which the tests run as the binary too (testscript.Main).
package main

import "github.com/dsqlenv/dsqlenv/internal/cli"

func main() { cli.Main() }
