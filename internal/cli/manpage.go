//go:build !urfave_cli_no_docs

package cli

// ManPage is dsqlenv's man page (roff), written by urfave/cli from the app's own commands and
// flags, so that it cannot drift from --help. urfave/cli's generator is left out of the shipped
// binary (the urfave_cli_no_docs tag), so only a build without that tag has this: the release's
// generator, internal/gendocs, and the tests.
func ManPage() (string, error) {
	return newApp(&run{Env: &Env{}}).ToManWithSection(1)
}
