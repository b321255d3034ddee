package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/profiles"
)

// listOptions are what `dsqlenv list` is told on its command line.
type listOptions struct {
	global
}

func newListCommand(r *run) *cli.Command {
	var o listOptions
	return &cli.Command{
		Name:     "list",
		Category: "Commands",
		Usage:    "list the profiles with endpoint, user and region",
		Description: `Reads the profiles file only: no AWS configuration, no token.

Examples:
   dsqlenv list
   dsqlenv --config ./team.yaml list`,
		Action: func(c *cli.Context) error {
			var err error
			if _, err = args(c, "", 0, 0); err != nil {
				return err
			}
			o.global = r.globals()
			return runList(c.Context, r, o)
		},
	}
}

func runList(_ context.Context, r *run, o listOptions) error {
	f, err := o.loadProfiles()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(&r.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tENDPOINT\tUSER\tREGION")
	for i := range f.Profiles {
		p := &f.Profiles[i]
		s := f.Summary(p)
		name := p.Name
		// The resolution show and every command make: a profile they refuse is invalid here
		// (list says why, on stderr), and a valid one shows the host clients are given (with
		// vpc_endpoint:, the cluster's PrivateLink name).
		if conn, err := f.Resolve(p.Name, r.Paths.Home); err != nil {
			name += " (invalid)"
			r.note("invalid "+p.Name, err.Error())
		} else {
			s = profiles.Summary{Host: conn.Host, User: conn.User, Region: conn.Region}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, dash(s.Host), termSafe(s.User), dash(s.Region))
	}
	return tw.Flush()
}
