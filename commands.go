package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/templates"
)

func otherCommands(e *Env) []*cli.Command {
	return []*cli.Command{
		{
			Name:     "list",
			Category: "Commands",
			Usage:    "list the profiles with endpoint, user and region",
			Description: `Reads the profiles file only: no AWS configuration, no token.

Examples:
   dsqlenv list
   dsqlenv --config ./team.yaml list`,
			Flags:  []cli.Flag{configFlag},
			Action: func(c *cli.Context) error { return listAction(c, e) },
		},
		{
			Name:      "show",
			Category:  "Commands",
			Usage:     "show every resolved setting of PROFILE and where it came from",
			ArgsUsage: "PROFILE",
			Description: `Prints each setting with its source: the profile, defaults, inferred from
the endpoint, or a built-in default. Never prints a token.

Examples:
   dsqlenv show prod`,
			Flags:  []cli.Flag{configFlag},
			Action: func(c *cli.Context) error { return showAction(c, e) },
		},
		{
			Name:      "token",
			Category:  "Commands",
			Usage:     "print a bare auth token for PROFILE",
			ArgsUsage: "PROFILE",
			Description: `Like aws dsql generate-db-connect-auth-token: one line, the token.

Examples:
   PGPASSWORD="$(dsqlenv token prod)" psql "host=… sslmode=verify-full"`,
			Flags:  tokenFlags,
			Action: func(c *cli.Context) error { return runToken(c, e) },
		},
		{
			Name:     "init",
			Category: "Commands",
			Usage:    "write a commented starter profiles file",
			Description: `Writes the starter file at --config, DSQLENV_CONFIG or
$XDG_CONFIG_HOME/dsqlenv/profiles.yaml. It never overwrites an existing file.

Examples:
   dsqlenv init && $EDITOR "$(dsqlenv init --path)"`,
			Flags: []cli.Flag{configFlag, &cli.BoolFlag{Name: "path", Usage: "print where the file goes and write nothing"}},
			Action: func(c *cli.Context) error {
				return runInit(c, e)
			},
		},
	}
}

func listAction(c *cli.Context, e *Env) error {
	if c.NArg() > 0 {
		return usagef("list: takes no arguments, got %s", strings.Join(c.Args().Slice(), " "))
	}
	return runList(settingsOf(c, e), e)
}

func runList(s settings, e *Env) error {
	f, err := s.loadProfiles(e)
	if err != nil {
		return err
	}
	// Buffered: tabwriter writes each cell on its own, a system call each on a bare stdout.
	out := bufio.NewWriter(e.Stdout)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tENDPOINT\tUSER\tREGION")
	for i := range f.Profiles {
		p := &f.Profiles[i]
		s := f.Summary(p)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, dash(s.Host), s.User, dash(s.Region))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return out.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func showAction(c *cli.Context, e *Env) error {
	name, err := oneArg(c, "PROFILE")
	if err != nil {
		return err
	}
	return runShow(settingsOf(c, e), e, name)
}

func runShow(s settings, e *Env, name string) error {
	f, err := s.loadProfiles(e)
	if err != nil {
		return err
	}
	conn, err := f.Resolve(name, homeDir())
	if err != nil {
		return err
	}
	out := bufio.NewWriter(e.Stdout)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "profile %s (%s)\n", name, f.Path)
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
	return out.Flush()
}

func runToken(c *cli.Context, e *Env) error {
	name, err := oneArg(c, "PROFILE")
	if err != nil {
		return err
	}
	m, err := resolveAndMint(settingsOf(c, e), e, name)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.Stdout, m.token)
	return err
}

func runInit(c *cli.Context, e *Env) error {
	path := flagString(c, "config")
	if path == "" {
		path = filepath.Join(xdgConfigHome(), "dsqlenv", "profiles.yaml")
	}
	if c.Bool("path") {
		_, err := fmt.Fprintln(e.Stdout, path)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("init: %v", err)
	}
	// O_EXCL: never overwrite, even if another process creates the file meanwhile.
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("init: %s already exists; edit it, or remove it first to start over", path)
	}
	if err != nil {
		return fmt.Errorf("init: %v", err)
	}
	if _, err := fh.WriteString(templates.Profiles); err != nil {
		fh.Close()
		os.Remove(path)
		return fmt.Errorf("init: writing %s: %v", path, err)
	}
	if err := fh.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("init: writing %s: %v", path, err)
	}
	fmt.Fprintf(e.Stderr, "dsqlenv: wrote %s: set your cluster's endpoint there, then run: dsqlenv show prod\n", path)
	return nil
}
