package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/adrg/xdg"
	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/pgfile"
	"github.com/dsqlenv/dsqlenv/profiles"
)

func fileCommands(e *Env) []*cli.Command {
	return []*cli.Command{
		{
			Name:      "service",
			Category:  "Commands",
			Usage:     "write [PROFILE] sections into the libpq connection service file",
			ArgsUsage: "[PROFILE...]",
			Description: `Writes (or with --remove deletes) a [PROFILE] section for each named profile, or
for every profile when none is named, in --file, else PGSERVICEFILE, else
~/.pg_service.conf (%APPDATA%\postgresql\.pg_service.conf on Windows).

Sections hold host, port, dbname, user, sslmode, sslrootcert and, when set,
application_name, connect_timeout and options; with --passfile, passfile=PATH.
Never a password: libpq rejects service-file lines over 1,021 characters and a
token runs to 1,500. Supply the token through PGPASSWORD or a password file.
Everything else in the file is kept byte for byte; writes are atomic and locked.
Values in a service file override environment variables.

Examples:
   dsqlenv service prod
   PGPASSWORD="$(dsqlenv token prod)" psql service=prod
   dsqlenv pgpass prod && dsqlenv service --passfile "$(dsqlenv pgpass --path)" prod
   psql service=prod
   dsqlenv service --remove prod`,
			Flags: []cli.Flag{configFlag,
				&cli.StringFlag{Name: "file", Usage: "the service file to edit (default: PGSERVICEFILE or ~/.pg_service.conf)"},
				&cli.BoolFlag{Name: "remove", Usage: "delete the sections instead of writing them"},
				&cli.StringFlag{Name: "passfile", Usage: "add passfile=`PATH` to each section (see dsqlenv pgpass)"},
			},
			Action: func(c *cli.Context) error { return runService(c, e) },
		},
		{
			Name:      "pgpass",
			Category:  "Commands",
			Usage:     "mint tokens into a libpq password file",
			ArgsUsage: "[PROFILE...]",
			Description: `Mints a token for each named profile (every profile when none is named) and writes
host:port:dbname:user:token lines to --file, else PGPASSFILE, else
$XDG_STATE_HOME/dsqlenv/pgpass, with mode 0600 (libpq ignores a looser file).
The line for the same host, port, database and user is replaced; other lines are
kept. Tokens expire: run it again before they do (it says when).

Examples:
   dsqlenv pgpass prod
   dsqlenv service --passfile "$(dsqlenv pgpass --path)" prod && psql service=prod`,
			Flags: withTokenFlags(
				&cli.StringFlag{Name: "file", Usage: "the password file (default: PGPASSFILE or $XDG_STATE_HOME/dsqlenv/pgpass)"},
				&cli.BoolFlag{Name: "path", Usage: "print the password file's path and write nothing"},
			),
			Action: func(c *cli.Context) error { return runPgpass(c, e) },
		},
	}
}

// serviceFilePath follows libpq: PGSERVICEFILE, else the per-user file.
func serviceFilePath(c *cli.Context, e *Env) string {
	if p := c.String("file"); p != "" {
		return p
	}
	return defaultServiceFile(runtime.GOOS, e.Getenv, homeDir())
}

// defaultServiceFile is libpq's per-user service file: PGSERVICEFILE, else
// %APPDATA%\postgresql\.pg_service.conf on Windows and ~/.pg_service.conf elsewhere
// (PostgreSQL documentation, "The Connection Service File").
func defaultServiceFile(goos string, getenv func(string) string, home string) string {
	if p := getenv("PGSERVICEFILE"); p != "" {
		return p
	}
	if goos == "windows" {
		return getenv("APPDATA") + `\postgresql\.pg_service.conf`
	}
	return filepath.Join(home, ".pg_service.conf")
}

// passFilePath is PGPASSFILE or dsqlenv's own file, not ~/.pgpass: the tokens expire, and a
// file of expiring lines is best kept apart from passwords a user maintains by hand.
func passFilePath(c *cli.Context, e *Env) string {
	if p := c.String("file"); p != "" {
		return p
	}
	if p := e.Getenv("PGPASSFILE"); p != "" {
		return p
	}
	return filepath.Join(xdg.StateHome, "dsqlenv", "pgpass")
}

// selectProfiles resolves the named profiles, or all of them.
func selectProfiles(c *cli.Context, e *Env) ([]*profiles.Connection, error) {
	f, err := settingsOf(c, e).loadProfiles(e)
	if err != nil {
		return nil, err
	}
	names := c.Args().Slice()
	if len(names) == 0 {
		names = f.Names()
	}
	var conns []*profiles.Connection
	for _, n := range names {
		conn, err := f.Resolve(n, homeDir())
		if err != nil {
			return nil, err
		}
		conns = append(conns, conn)
	}
	return conns, nil
}

func serviceSection(conn *profiles.Connection, rootCert, passfile string) pgfile.Section {
	s := pgfile.Section{Name: conn.Profile, Keys: []pgfile.KV{
		{Key: "host", Value: conn.Host},
		{Key: "port", Value: strconv.Itoa(conn.Port)},
		{Key: "dbname", Value: conn.Database},
		{Key: "user", Value: conn.User},
		{Key: "sslmode", Value: conn.SSLMode},
		{Key: "sslrootcert", Value: rootCert},
	}}
	if conn.ApplicationName != "" {
		s.Keys = append(s.Keys, pgfile.KV{Key: "application_name", Value: conn.ApplicationName})
	}
	if conn.ConnectTimeout != 0 {
		s.Keys = append(s.Keys, pgfile.KV{Key: "connect_timeout", Value: strconv.Itoa(conn.ConnectTimeout)})
	}
	if conn.Options != "" {
		s.Keys = append(s.Keys, pgfile.KV{Key: "options", Value: conn.Options})
	}
	if passfile != "" {
		s.Keys = append(s.Keys, pgfile.KV{Key: "passfile", Value: passfile})
	}
	return s
}

func runService(c *cli.Context, e *Env) error {
	conns, err := selectProfiles(c, e)
	if err != nil {
		return err
	}
	passfile := c.String("passfile")
	if passfile != "" {
		if abs, err := filepath.Abs(profiles.ExpandHome(passfile, homeDir())); err == nil {
			passfile = abs
		}
	}
	var sections []pgfile.Section
	var names []string
	var roots []rootCert
	for _, conn := range conns {
		root, err := rootCertFor(conn, runtime.GOOS == "windows")
		if err != nil {
			return err
		}
		roots = append(roots, root)
		s := serviceSection(conn, root.path, passfile)
		if err := pgfile.CheckSection(s); err != nil {
			return fmt.Errorf("profile %s: %v", conn.Profile, err)
		}
		sections = append(sections, s)
		names = append(names, "["+conn.Profile+"]")
	}
	path := serviceFilePath(c, e)
	remove := c.Bool("remove")
	if !remove {
		for _, r := range roots {
			if err := r.ensure(); err != nil {
				return err
			}
		}
	}
	written, err := pgfile.Update(path, 0o600, func(old []byte) ([]byte, error) {
		return pgfile.MergeService(old, sections, remove), nil
	})
	if err != nil {
		return err
	}
	verb := "wrote"
	if remove {
		verb = "removed"
	}
	fmt.Fprintf(e.Stderr, "dsqlenv: %s %s in %s\n", verb, strings.Join(names, " "), written)
	return nil
}

// pgpassWarnWithin is when the pgpass command warns that its tokens will soon be stale.
const pgpassWarnWithin = time.Hour

func runPgpass(c *cli.Context, e *Env) error {
	path := passFilePath(c, e)
	if c.Bool("path") {
		_, err := fmt.Fprintln(e.Stdout, path)
		return err
	}
	conns, err := selectProfiles(c, e)
	if err != nil {
		return err
	}
	var entries []pgfile.PassEntry
	var first time.Time
	for _, conn := range conns {
		m, err := mint(settingsOf(c, e), e, conn)
		if err != nil {
			return err
		}
		entries = append(entries, pgfile.PassEntry{Host: conn.Host, Port: strconv.Itoa(conn.Port), Database: conn.Database, User: conn.User, Password: m.token})
		if first.IsZero() || m.info.ExpiresAt.Before(first) {
			first = m.info.ExpiresAt
		}
	}
	written, err := pgfile.Update(path, 0o600, func(old []byte) ([]byte, error) {
		return pgfile.MergePass(old, entries), nil
	})
	if err != nil {
		return err
	}
	// libpq ignores a password file readable by group or others (on Unix), so an existing
	// file's looser mode is tightened rather than kept.
	if runtime.GOOS != "windows" {
		if st, err := os.Stat(written); err == nil && st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(written, 0o600); err != nil {
				return fmt.Errorf("%s: libpq ignores a password file readable by others, and chmod 0600 failed: %v", written, err)
			}
		}
	}
	left := first.Sub(e.Now()).Round(time.Second)
	fmt.Fprintf(e.Stderr, "dsqlenv: wrote %d token(s) to %s; they expire at %s (in %s)\n", len(entries), written,
		first.Local().Format("15:04:05"), profiles.FormatDuration(left))
	if left < pgpassWarnWithin {
		fmt.Fprintf(e.Stderr, "dsqlenv: warning: the tokens expire in under an hour: run dsqlenv pgpass again before then, or raise expires_in\n")
	}
	return nil
}
