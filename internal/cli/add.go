package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dsql/types"
	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/pgfile"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// addOptions are what `dsqlenv add` is told on its command line.
type addOptions struct {
	global
	name       string
	cluster    string // ID, ARN or endpoint
	region     string
	awsProfile string
	force      bool
	noCheck    bool
}

func newAddCommand(r *run) *cli.Command {
	var o addOptions
	return &cli.Command{
		Name:      "add",
		Category:  "Commands",
		Usage:     "add a profile for a DSQL cluster to the profiles file",
		ArgsUsage: "NAME --cluster CLUSTER",
		Description: `Writes profile NAME into the profiles file (--config; a new file when there is
none) with the cluster's endpoint and, when given, aws_profile: --aws-profile.
Every other line of the file, comments and blank lines included, stays as it was.

--cluster takes the cluster's ID (with --region, or the AWS profile's region), its
ARN, or its endpoint. dsqlenv first asks the DSQL control plane for it
(dsql:GetCluster) with the credentials the profile will use, and says when it is
not ACTIVE yet; --no-check writes the profile without asking.

A NAME already in the file is refused; --force replaces that profile (all of its
lines) where it stands. dsqlenv clusters --add adds every cluster an AWS profile
can see.

Examples:
   dsqlenv add prod --cluster abcdefghijklmnopqrstuvwxyz --region us-east-1 --aws-profile work
   dsqlenv add prod --cluster arn:aws:dsql:us-east-1:123456789012:cluster/abcdefghijklmnopqrstuvwxyz
   dsqlenv add prod --cluster abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws --force
   dsqlenv add prod --cluster abcdefghijklmnopqrstuvwxyz --region us-east-1 && eval "$(dsqlenv bash prod)"`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cluster", Destination: &o.cluster, Usage: "the `CLUSTER`: its ID, ARN or endpoint (required)"},
			&cli.StringFlag{Name: "region", Destination: &o.region, Usage: "the cluster's `REGION` (default: from the ARN or endpoint, else the AWS profile's region)"},
			&cli.StringFlag{Name: "aws-profile", Destination: &o.awsProfile, Usage: "sign with AWS profile `NAME`: written as aws_profile:, and used for the check"},
			&cli.BoolFlag{Name: "force", Destination: &o.force, Usage: "replace a profile of the same name"},
			&cli.BoolFlag{Name: "no-check", Destination: &o.noCheck, Usage: "do not ask AWS about the cluster (then --cluster must name the region)"},
		},
		Action: func(c *cli.Context) error {
			var err error
			if o.name, err = oneArg(c, "NAME"); err != nil {
				return err
			}
			if !profiles.IsProfileName(o.name) {
				return usagef("add: profile name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", o.name)
			}
			if o.cluster == "" {
				return usagef("add: which cluster? give --cluster ID (with --region), ARN or ENDPOINT (dsqlenv clusters lists them)")
			}
			if o.region != "" && !profiles.IsRegion(o.region) {
				return usagef("add: --region %q is not a region name such as us-east-1", o.region)
			}
			o.global = r.globals()
			return runAdd(c.Context, r, o)
		},
	}
}

// clusterArg reads --cluster: the cluster ID (when known) and region (when named), and the
// endpoint when one was given.
func clusterArg(arg, region string) (id, reg, endpoint string, err error) {
	arg = strings.TrimSpace(arg)
	switch {
	case strings.HasPrefix(arg, "arn:"):
		var ok bool
		if id, reg, ok = profiles.ParseClusterARN(arg); !ok {
			return "", "", "", usagef("add: --cluster %s is not a DSQL cluster ARN (arn:aws:dsql:REGION:ACCOUNT:cluster/ID)", arg)
		}
	case profiles.IsClusterID(arg):
		id = arg
	case strings.Contains(arg, "."):
		endpoint = strings.TrimSuffix(strings.ToLower(arg), ".")
		reg = profiles.RegionFromEndpoint(endpoint)
		if first, _, _ := strings.Cut(endpoint, "."); profiles.IsClusterID(first) && reg != "" {
			id = first
		}
	default:
		return "", "", "", usagef("add: --cluster %s is not a cluster ID (26 lower-case letters and digits), ARN or endpoint", arg)
	}
	switch {
	case reg != "" && region != "" && reg != region:
		return "", "", "", usagef("add: --cluster %s is in %s, not --region %s: leave --region out", arg, reg, region)
	case reg == "":
		reg = region
	}
	return id, reg, endpoint, nil
}

func runAdd(ctx context.Context, r *run, o addOptions) error {
	id, region, endpoint, err := clusterArg(o.cluster, o.region)
	if err != nil {
		return err
	}
	f, err := loadForAdd(o.global)
	if err != nil {
		return err
	}
	// The check signs as the profile will: --aws-profile, else the file's defaults, else the
	// environment's chain.
	checkProfile, from := o.awsProfile, ""
	if f != nil {
		for _, p := range f.Profiles {
			if p.Name == o.name && !o.force {
				return fmt.Errorf("add: profile %s already exists in %s (line %d): choose another NAME, or give --force to replace it", o.name, f.Path, p.Line)
			}
		}
		if d := f.Defaults.AWSProfile; checkProfile == "" && d.Set {
			checkProfile, from = d.Value, "aws_profile: under defaults:"
		}
	}
	status := ""
	switch {
	case o.noCheck:
		if endpoint == "" && region == "" {
			return usagef("add: --no-check needs the cluster's region: give --region, or the cluster's ARN or endpoint")
		}
	case id == "":
		// An endpoint that names no cluster ID (a PrivateLink or custom name): nothing to ask.
		r.note("unchecked", fmt.Sprintf("note: %s names no cluster ID, so it was not checked with AWS", endpoint))
	default:
		ctx, cancel := profiles.WithTimeoutExceptTyping(ctx, o.timeout)
		defer cancel()
		api, err := r.dsqlAPIFrom(ctx, o.global, "add", checkProfile, from, region)
		if err != nil {
			return err
		}
		defer api.close()
		if region == "" {
			region = api.cfg.Region
		}
		c, err := api.get(ctx, region, id)
		var nf *types.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
			return fmt.Errorf("add: no cluster %s in %s for %s: check the ID and the region (dsqlenv clusters --region %s lists them)", id, region, api.who(), region)
		case err != nil:
			return api.apiError(ctx, "GetCluster", region, err)
		}
		if endpoint == "" {
			endpoint = c.Endpoint
		}
		status = c.Status
	}
	if endpoint == "" {
		endpoint = profiles.ClusterEndpoint(id, region)
	}
	fields := []profiles.Entry{{Key: "endpoint", Value: endpoint}}
	if o.awsProfile != "" {
		fields = append(fields, profiles.Entry{Key: "aws_profile", Value: o.awsProfile})
	}
	path := o.config
	r.stage("add "+path, func() (string, error) {
		written, err := pgfile.Edit(r.lockDir(), path, 0o600, func(old []byte) ([]byte, error) {
			return profiles.AddProfile(old, o.name, fields, o.force)
		})
		if err != nil {
			return "", fmt.Errorf("add: %v", err)
		}
		note := fmt.Sprintf("added profile %s to %s: endpoint %s", o.name, written, endpoint)
		if status != "" && status != string(types.ClusterStatusActive) && status != string(types.ClusterStatusIdle) {
			note += fmt.Sprintf("\nnote: cluster %s is %s, not ACTIVE yet: connections fail until it is (dsqlenv clusters shows its status)", id, status)
		}
		return note + "\nnext: dsqlenv show " + o.name, nil
	})
	return nil
}
