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

Examples:
   dsqlenv init && $EDITOR "$(dsqlenv init --path)"`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "path", Usage: "print where the file goes and write nothing"}},
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
			return initRun(r, g.config)
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
