package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

func showCommand(r *run) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Category:  "Commands",
		Usage:     "show every resolved setting of PROFILE and where it came from",
		ArgsUsage: "PROFILE",
		Description: `Prints each setting with its source: the profile, defaults, inferred from
the endpoint, or a built-in default. Never prints a token.

Examples:
   dsqlenv show prod`,
		Flags: []cli.Flag{configFlag},
		Action: func(c *cli.Context) error {
			name, err := oneArg(c, "PROFILE")
			if err != nil {
				return err
			}
			g, err := globalsOf(c, r)
			if err != nil {
				return err
			}
			return showRun(r, g, name)
		},
	}
}

func showRun(r *run, g global, name string) error {
	f, err := g.loadProfiles()
	if err != nil {
		return err
	}
	conn, err := f.Resolve(name, r.Paths.Home)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(&r.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "profile %s (%s)\n", name, termSafe(f.Path))
	for _, s := range conn.Settings {
		src := s.Source
		if s.Line > 0 {
			src = fmt.Sprintf("%s, line %d", src, s.Line)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Field, dash(s.Value), src)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Getenv("PGPASSWORD") != "" {
		fmt.Fprintln(&r.out, "note: PGPASSWORD is set in this environment: libpq uses it before any password file (passfile=, PGPASSFILE)")
	}
	return nil
}
