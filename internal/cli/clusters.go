package cli

import (
	"context"

	"github.com/urfave/cli/v2"
)

// clustersOptions are what `dsqlenv clusters` is told on its command line.
type clustersOptions struct {
	global
	regions    []string
	awsProfile string
	json       bool
	add        bool
}

func newClustersCommand(r *run) *cli.Command {
	var o clustersOptions
	var regions cli.StringSlice
	return &cli.Command{
		Name:     "clusters",
		Category: "Commands",
		Usage:    "list the Aurora DSQL clusters an AWS profile can see, and add them as profiles",
		Description: `Asks the DSQL control plane (dsql:ListClusters, then dsql:GetCluster for each)
in each --region, default the AWS profile's region, with the credentials every
other command uses: --aws-profile, else AWS_PROFILE, else the default chain.

On a terminal: a table of name (the cluster's Name tag), ID, region, status,
endpoint and multi-Region peers. Piped: one line per cluster, the same columns
separated by tabs, "-" for none. --json: one JSON array.

--add writes one profile per cluster into the profiles file (--config), named by
the cluster's Name tag (lower-cased, other characters turned into '-'; a second
cluster of the name gets -REGION, the next ones -REGION-2, -REGION-3) or its ID,
with its endpoint and --aws-profile; a name already in the file is skipped with a
note (dsqlenv add --force replaces one), and so are clusters being deleted and
clusters the control plane cannot describe. Comments and layout of the file stay
as they were. dsqlenv reads at most 1 MiB an answer and 1,000 clusters a region.

Examples:
   dsqlenv clusters
   dsqlenv clusters --aws-profile work --region us-east-1 --region us-east-2
   dsqlenv clusters --json | jq -r '.[].endpoint'
   dsqlenv clusters --aws-profile work --add && dsqlenv list`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "region", Destination: &regions, Usage: "list the clusters in `REGION` (repeat it, or separate with commas; default: the AWS profile's region)"},
			&cli.StringFlag{Name: "aws-profile", Destination: &o.awsProfile, Usage: "use the credentials of AWS profile `NAME` (default: AWS_PROFILE, else the default chain)"},
			&cli.BoolFlag{Name: "json", Destination: &o.json, Usage: "print a JSON array"},
			&cli.BoolFlag{Name: "add", Destination: &o.add, Usage: "also add a profile for each cluster to the profiles file"},
		},
		Action: func(c *cli.Context) error {
			var err error
			if _, err = args(c, "", 0, 0); err != nil {
				return err
			}
			o.global = r.globals()
			if o.regions, err = regionList(regions.Value(), "clusters"); err != nil {
				return err
			}
			return runClusters(c.Context, r, o)
		},
	}
}

func runClusters(ctx context.Context, r *run, o clustersOptions) error {
	found, err := r.discover(ctx, o.global, "clusters", o.awsProfile, o.regions)
	if err != nil {
		return err
	}
	if o.add {
		if _, err := r.addClusters(o.global, "clusters --add", o.awsProfile, found.clusters); err != nil {
			return err
		}
	}
	return r.printClusters(found.clusters, o.json)
}
