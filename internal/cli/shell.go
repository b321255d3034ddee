package cli

import (
	"context"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/emit"
)

// shellOptions are what a dialect command needs besides the process.
type shellOptions struct {
	global
	dialect *emit.Dialect
	profile string
	unset   bool
}

func newShellCommand(r *run, d *emit.Dialect) *cli.Command {
	o := shellOptions{dialect: d}
	var flags []cli.Flag
	if d.Unsets {
		flags = append(flags, &cli.BoolFlag{Name: "unset", Destination: &o.unset,
			Usage: "print code that removes every variable a block sets; takes no PROFILE and reads no file"})
	}
	return &cli.Command{
		Name:        d.Name,
		Aliases:     d.Aliases,
		Usage:       "print " + d.Title + " code that sets the libpq variables for PROFILE",
		ArgsUsage:   "PROFILE",
		Category:    "Shells",
		Description: shellHelp(d),
		Flags:       flags,
		Action: func(c *cli.Context) error {
			if o.unset {
				if c.NArg() > 0 {
					return usagef("%s --unset takes no PROFILE, got %s", d.Name, strings.Join(c.Args().Slice(), " "))
				}
				return runShell(c.Context, r, o)
			}
			var err error
			if o.profile, err = oneArg(c, "PROFILE"); err != nil {
				return err
			}
			o.global = r.globals()
			return runShell(c.Context, r, o)
		},
	}
}

// runShell mints a token for the profile and prints the dialect's block, or with --unset the
// code that removes every variable a block may set.
func runShell(ctx context.Context, r *run, o shellOptions) error {
	if o.unset {
		return unsetRun(r, o)
	}
	if r.Getenv("DSQLENV_TEST_PANIC") == "1" {
		panic("DSQLENV_TEST_PANIC") // the tests' way to check what a crash prints
	}
	s, err := r.resolve(o.global, o.profile, clientsOf(o.dialect.Windows))
	if err != nil {
		return err
	}
	if err := r.mint(ctx, o.global, s); err != nil {
		return err
	}
	r.stageRoots(s)
	out, err := o.dialect.Shell.Render(s.block())
	if err != nil {
		return renderError(o.profile, o.dialect.Name, err)
	}
	r.out.Write(out)
	r.rendered = true
	return nil
}

// unsetRun prints code that removes every variable a block may set. It reads no file.
func unsetRun(r *run, o shellOptions) error {
	unset := managedVars()
	if v := r.oldURLVar(); v != "" { // the URL variable of database_url: (url.go)
		unset = append(unset, v)
	}
	out, err := o.dialect.Shell.Render(emit.Block{Unset: unset})
	if err != nil {
		return err
	}
	r.out.Write(out)
	r.rendered = true
	return nil
}

// blockVarsHelp is the list of what a block sets, from the table, built once for every
// dialect's help.
var blockVarsHelp = sync.OnceValue(func() string {
	return wrap(strings.Join(managedVars(), ", ")+" (the optional ones when the profile sets them; DSQLENV_EXPIRES_AT in Unix seconds), and the variable database_url: names, holding a postgresql:// URL.", 80)
})

func shellHelp(d *emit.Dialect) string {
	text := "Mints a fresh IAM auth token for PROFILE and prints " + d.Title + " code that sets\n" + blockVarsHelp()
	if d.Unsets {
		text += `
It first removes ` + strings.Join(redirectVars, " and ") + `, which would redirect the connection, and
every variable above that the profile does not set, so nothing of an earlier
profile is left behind. With --unset it prints code that removes all of them
again (no PROFILE).`
	} else {
		text += "\nIt sets variables only and clears nothing."
	}
	if d.Failure != "" {
		text += "\nOn failure it prints only \"false\", so the eval fails too."
	}
	if d.Shell == emit.POSIX {
		text += "\nKeep the double quotes around $(...): unquoted, the ? in a token is a glob."
	}
	return text + "\n\nExamples:\n   " + d.Use
}

// wrap breaks text into lines of at most width characters at spaces, for help texts built
// from the tables.
func wrap(text string, width int) string {
	var b strings.Builder
	line := 0
	for i, w := range strings.Fields(text) {
		if i > 0 && line+1+len(w) > width {
			b.WriteString("\n")
			line = 0
		} else if i > 0 {
			b.WriteString(" ")
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}
