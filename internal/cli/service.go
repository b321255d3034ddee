package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/pgfile"
	"github.com/dsqlenv/dsqlenv/profiles"
)

type serviceOptions struct {
	global
	names    []string
	file     string
	passfile string
	remove   bool
	force    bool
	proxy    bool
}

func newServiceCommand(r *run) *cli.Command {
	var o serviceOptions
	return &cli.Command{
		Name:      "service",
		Category:  "Commands",
		Usage:     "write [PROFILE] sections into the libpq connection service file",
		ArgsUsage: "[PROFILE...]",
		Description: `Writes (or with --remove deletes) a [PROFILE] section for each named profile, or
for every profile when none is named, in --file, else PGSERVICEFILE, else
~/.pg_service.conf (%APPDATA%\postgresql\.pg_service.conf on Windows).

Sections hold the libpq keywords ` + keywordList() + `,
each when the profile has a value for it (sslnegotiation only when the profiles
file sets it: libpq before 17 rejects the keyword); with --passfile, passfile=PATH.
Never a password: libpq rejects service-file lines over 1,021 characters and a
token runs to 1,500. Supply the token through PGPASSWORD or a password file.
Each section dsqlenv writes starts with a marker comment; a section of the same
name without it was written by hand, and is replaced or removed only with --force.
Everything else in the file is kept byte for byte; writes are atomic and locked,
and only a regular file is written.
Values in a service file override environment variables.

Examples:
   dsqlenv service prod
   PGPASSWORD="$(dsqlenv token prod)" psql service=prod
   dsqlenv pgpass prod && dsqlenv service --passfile "$(dsqlenv pgpass --path)" prod
   psql service=prod
   dsqlenv service --remove prod
   dsqlenv service --proxy prod && psql service=prod     # with dsqlenv proxy prod running

With --proxy, a section points at the socket of dsqlenv proxy PROFILE (host=its
directory, user, dbname, and application_name and options when the profile sets
them): no token and no expiry, so psql service=prod works all day while the proxy
runs.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "file", Destination: &o.file, Usage: "the service file to edit (default: PGSERVICEFILE or ~/.pg_service.conf)"},
			&cli.BoolFlag{Name: "remove", Destination: &o.remove, Usage: "delete the sections instead of writing them"},
			&cli.StringFlag{Name: "passfile", Destination: &o.passfile, Usage: "add passfile=`PATH` to each section (see dsqlenv pgpass)"},
			&cli.BoolFlag{Name: "force", Destination: &o.force, Usage: "also replace or remove sections dsqlenv did not write"},
			&cli.BoolFlag{Name: "proxy", Destination: &o.proxy, Usage: "point each section at the socket of `dsqlenv proxy PROFILE` instead: no token, no expiry"},
		},
		Action: func(c *cli.Context) error {
			var err error
			if o.names, err = args(c, "PROFILE", 0, -1); err != nil {
				return err
			}
			o.global = r.globals()
			if o.proxy && (o.passfile != "" || o.remove) {
				return usagef("service --proxy: goes with neither --passfile (the proxy needs no password) nor --remove")
			}
			if o.proxy && !proxySockets(r.GOOS) {
				return usagef("service --proxy: %s; then use host=127.0.0.1 port=PORT", noProxySocket(r.GOOS))
			}
			return runService(c.Context, r, o)
		},
	}
}

func runService(_ context.Context, r *run, o serviceOptions) error {
	var sections []pgfile.Section
	if o.remove && len(o.names) > 0 {
		// A section outlives its profile: removing it needs only its name, not the profile.
		for _, n := range o.names {
			if !profiles.IsProfileName(n) {
				return usagef("service --remove: %q is not a profile name", n)
			}
			sections = append(sections, pgfile.Section{Name: n})
		}
		return r.stageService(o, sections)
	}
	clients := clientsOf(r.GOOS == "windows")
	if o.remove || o.proxy {
		clients = noRootCert
	}
	sessions, err := r.sessions(o.global, o.names, clients)
	if err != nil {
		return err
	}
	r.stageRoots(sessions...)
	passfile := o.passfile
	if passfile != "" {
		passfile = r.userPath(passfile)
	}
	for _, s := range sessions {
		sec := s.serviceSection(passfile)
		if o.proxy {
			sec = s.proxySection(r.socketPath(s.conn.Profile))
		}
		if err := pgfile.CheckSection(sec); err != nil {
			return fmt.Errorf("profile %s: %v", s.conn.Profile, err)
		}
		sections = append(sections, sec)
	}
	return r.stageService(o, sections)
}

// stageService writes or removes the sections once the command has succeeded.
func (r *run) stageService(o serviceOptions, sections []pgfile.Section) error {
	path := r.serviceFilePath()
	if o.file != "" {
		path = r.userPath(o.file)
	}
	r.stage("service", func() (string, error) {
		written, rep, err := pgfile.WriteService(r.lockDir(), path, sections, o.remove, o.force)
		if err != nil {
			return "", err
		}
		var notes []string
		if len(rep.Written) > 0 {
			notes = append(notes, fmt.Sprintf("wrote %s in %s", brackets(rep.Written), written))
		}
		if len(rep.Removed) > 0 {
			notes = append(notes, fmt.Sprintf("removed %s from %s", brackets(rep.Removed), written))
		}
		if len(rep.Missing) > 0 {
			notes = append(notes, fmt.Sprintf("note: %s not in %s: nothing to remove", brackets(rep.Missing), written))
		}
		return strings.Join(notes, "\n"), nil
	})
	return nil
}

func brackets(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "[" + n + "]"
	}
	return strings.Join(out, " ")
}
