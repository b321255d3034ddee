package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

func listCommand(r *run) *cli.Command {
	return &cli.Command{
		Name:     "list",
		Category: "Commands",
		Usage:    "list the profiles with endpoint, user and region",
		Description: `Reads the profiles file only: no AWS configuration, no token.

Examples:
   dsqlenv list
   dsqlenv --config ./team.yaml list`,
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			g, err := r.globals()
			if err != nil {
				return err
			}
			return listRun(r, g)
		},
	}
}

func listRun(r *run, g global) error {
	f, err := g.loadProfiles()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(&r.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tENDPOINT\tUSER\tREGION")
	for i := range f.Profiles {
		p := &f.Profiles[i]
		s := f.Summary(p)
		name := p.Name
		if p.Err != nil { // the commands that use it fail; list says why, on stderr
			name += " (invalid)"
			r.note("invalid "+p.Name, p.Err.Error())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, dash(s.Host), termSafe(s.User), dash(s.Region))
	}
	return tw.Flush()
}

// dash shows a missing value as "-", and any value terminal-safe.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return termSafe(s)
}
