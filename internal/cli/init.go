package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/templates"
)

// initOptions are what `dsqlenv init` is told on its command line.
type initOptions struct {
	global
	path       bool
	fromAWS    bool
	awsProfile string
	regions    []string
}

func newInitCommand(r *run) *cli.Command {
	var o initOptions
	var regions cli.StringSlice
	return &cli.Command{
		Name:     "init",
		Category: "Commands",
		Usage:    "write a commented starter profiles file",
		Description: `Writes the starter file at --config, DSQLENV_CONFIG or
$XDG_CONFIG_HOME/dsqlenv/profiles.yaml: the file every other command reads.
It never overwrites an existing file.

--from-aws writes no example: one profile per DSQL cluster that the AWS profile
(--aws-profile, else AWS_PROFILE, else the default chain) sees in each --region,
as dsqlenv clusters --add does, and prints the clusters it found.

Examples:
   dsqlenv init && $EDITOR "$(dsqlenv init --path)"
   dsqlenv init --from-aws --aws-profile work --region us-east-1 --region eu-west-1`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "path", Destination: &o.path, Usage: "print where the file goes and write nothing"},
			&cli.BoolFlag{Name: "from-aws", Destination: &o.fromAWS, Usage: "a profile per DSQL cluster the AWS profile can see, instead of the example (see dsqlenv clusters)"},
			&cli.StringFlag{Name: "aws-profile", Destination: &o.awsProfile, Usage: "with --from-aws: use the credentials of AWS profile `NAME`"},
			&cli.StringSliceFlag{Name: "region", Destination: &regions, Usage: "with --from-aws: look in `REGION` (repeat it; default: the AWS profile's region)"}},
		Action: func(c *cli.Context) error {
			var err error
			if _, err = args(c, "", 0, 0); err != nil {
				return err
			}
			o.global = r.globals()
			if o.path && o.fromAWS {
				return usagef("init: --path prints where the file goes and writes nothing; --from-aws writes it: give one of them")
			}
			if !o.fromAWS && (c.IsSet("aws-profile") || c.IsSet("region")) {
				return usagef("init: --aws-profile and --region go with --from-aws")
			}
			if o.regions, err = regionList(regions.Value(), "init"); err != nil {
				return err
			}
			return runInit(c.Context, r, o)
		},
	}
}

func runInit(ctx context.Context, r *run, o initOptions) error {
	path := o.config
	switch {
	case o.path:
		_, err := fmt.Fprintln(&r.out, path)
		return err
	case o.fromAWS:
		return r.initFromAWS(ctx, o)
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("init: %s already exists; edit it, or remove it first to start over", path)
	}
	r.stage("init", func() (string, error) {
		// 0700, as the XDG Base Directory Specification asks of a directory made to write a
		// file into: the profiles file is the user's alone.
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", fmt.Errorf("init: %v", err)
		}
		// O_EXCL: never overwrite, even if another process creates the file meanwhile.
		fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("init: %s already exists; edit it, or remove it first to start over", path)
		}
		if err != nil {
			return "", fmt.Errorf("init: %v", err)
		}
		if _, err := fh.WriteString(templates.Profiles); err != nil {
			fh.Close()
			os.Remove(path)
			return "", fmt.Errorf("init: writing %s: %v", path, err)
		}
		if err := fh.Close(); err != nil {
			os.Remove(path)
			return "", fmt.Errorf("init: writing %s: %v", path, err)
		}
		return fmt.Sprintf("wrote %s: set your cluster's endpoint there, then run: dsqlenv show prod", path), nil
	})
	return nil
}

// initFromAWS is init --from-aws: the file clusters --add would write, new, with at least one
// profile, and the clusters it found printed.
func (r *run) initFromAWS(ctx context.Context, o initOptions) error {
	if _, err := os.Lstat(o.config); err == nil {
		return fmt.Errorf("init: %s already exists: dsqlenv clusters --add adds the clusters to it", o.config)
	}
	found, err := r.discover(ctx, o.global, "init", o.awsProfile, o.regions)
	if err != nil {
		return err
	}
	added, err := r.addClusters(o.global, "init --from-aws", o.awsProfile, found.clusters)
	switch {
	case err != nil:
		return err
	case added == 0:
		return fmt.Errorf("init --from-aws: no DSQL cluster to add in %s for %s: name other regions with --region or another --aws-profile, or run dsqlenv init for the commented example", strings.Join(found.regions, ", "), found.who)
	}
	return r.printClusters(found.clusters, false)
}
