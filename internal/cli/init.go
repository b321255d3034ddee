package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/templates"
)

func initCommand(r *run) *cli.Command {
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
		Flags: []cli.Flag{&cli.BoolFlag{Name: "path", Usage: "print where the file goes and write nothing"},
			&cli.BoolFlag{Name: "from-aws", Usage: "a profile per DSQL cluster the AWS profile can see, instead of the example (see dsqlenv clusters)"},
			&cli.StringFlag{Name: "aws-profile", Usage: "with --from-aws: use the credentials of AWS profile `NAME`"},
			&cli.StringSliceFlag{Name: "region", Usage: "with --from-aws: look in `REGION` (repeat it; default: the AWS profile's region)"}},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			g, err := r.globals()
			if err != nil {
				return err
			}
			if c.Bool("path") {
				_, err := fmt.Fprintln(&r.out, g.config)
				return err
			}
			if !c.Bool("from-aws") {
				if c.IsSet("aws-profile") || c.IsSet("region") {
					return usagef("init: --aws-profile and --region go with --from-aws")
				}
				return initRun(r, g.config)
			}
			if _, err := os.Lstat(g.config); err == nil {
				return fmt.Errorf("init: %s already exists: dsqlenv clusters --add adds the clusters to it", g.config)
			}
			o := clustersOptions{global: g, awsProfile: c.String("aws-profile"), add: true, init: true}
			if o.regions, err = regionList(c.StringSlice("region"), "init"); err != nil {
				return err
			}
			return runClusters(c.Context, r, o)
		},
	}
}

func initRun(r *run, path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("init: %s already exists; edit it, or remove it first to start over", path)
	}
	r.stage("init", func() (string, error) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
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
