package cli

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/internal/text"
)

// urlOptions are what `dsqlenv url` and `dsqlenv jdbc` are told on their command line.
type urlOptions struct {
	global
	profile string
	jdbc    bool // pgjdbc's URL, not postgresql://
}

func newURLCommand(r *run) *cli.Command {
	return newURLCommandFor(r, false, &cli.Command{
		Name:      "url",
		Category:  "Commands",
		Usage:     "print a postgresql:// connection URL for PROFILE, token included",
		ArgsUsage: "PROFILE",
		Description: `Mints a token for PROFILE and prints one line: a postgresql:// URL (DATABASE_URL)
for the drivers and frameworks that take one: node-postgres, Prisma, Rails, Django,
sqlx and pgx. User and token are percent-encoded in it (RFC 3986), and
so are the database and every parameter: sslmode, sslrootcert, application_name,
connect_timeout, options, and sslnegotiation when the profile sets it.
sslrootcert is always a file: system and amazon become the bundled Amazon roots'
file, because drivers other than libpq open the value as a file. The URL holds the
token, so it stops working when the token expires (expires_in).
A profile with database_url: NAME also puts this URL in the variable NAME of every
shell block, exec and the env, dotenv and json outputs.

Keep the URL off command lines: any local user can read a program's arguments
(ps, /proc/PID/cmdline) while it runs, and the token in them until it expires.
Give it in the environment instead; for psql, use dsqlenv exec PROFILE -- psql,
service=PROFILE or the proxy. At a terminal, url says so on stderr.

Examples:
   DATABASE_URL="$(dsqlenv url prod)" node app.js
   dsqlenv exec prod -- psql           # psql without the token in its arguments
   dsqlenv url prod | pbcopy`,
	})
}

func newJDBCCommand(r *run) *cli.Command {
	return newURLCommandFor(r, true, &cli.Command{
		Name:      "jdbc",
		Category:  "Commands",
		Usage:     "print a jdbc:postgresql:// URL for PROFILE, token included",
		ArgsUsage: "PROFILE",
		Description: `Mints a token for PROFILE and prints one line: a JDBC URL for pgjdbc and the
Java tools built on it (DBeaver, DataGrip, IntelliJ, Spring, Flyway, Liquibase),
with user, password (the token), sslmode, sslrootcert (a PEM file: system and amazon
become the bundled Amazon roots' file), ApplicationName, connectTimeout, options,
and sslNegotiation when the profile sets it (pgjdbc 42.7.4 and later), all
percent-encoded. The URL stops working when the token expires (expires_in).
Keep it off command lines, which any local user can read (ps, /proc/PID/cmdline):
give it in the environment or the tool's settings. At a terminal, jdbc says so
on stderr.

Examples:
   dsqlenv jdbc prod
   SPRING_DATASOURCE_URL="$(dsqlenv jdbc prod)" java -jar app.jar`,
	})
}

// newURLCommandFor gives url or jdbc (cmd: its name and help) its one PROFILE and its work.
func newURLCommandFor(r *run, jdbc bool, cmd *cli.Command) *cli.Command {
	o := urlOptions{jdbc: jdbc}
	cmd.Action = func(c *cli.Context) error {
		var err error
		if o.profile, err = oneArg(c, "PROFILE"); err != nil {
			return err
		}
		o.global = r.globals()
		return runURL(c.Context, r, o)
	}
	return cmd
}

// runURL mints a token and prints the profile's URL, postgresql:// or JDBC.
func runURL(ctx context.Context, r *run, o urlOptions) error {
	s, err := r.resolve(o.global, o.profile, noRootCert)
	if err != nil {
		return err
	}
	if err := r.mint(ctx, o.global, s); err != nil {
		return err
	}
	s.urlRootCert = r.rootCertFile(s)
	r.stageRoots(s)
	u, use := s.connURL(), fmt.Sprintf(`DATABASE_URL="$(dsqlenv url %s)" node app.js; for psql: dsqlenv exec %s -- psql`, o.profile, o.profile)
	if o.jdbc {
		if u, err = s.jdbcURL(); err != nil {
			return err
		}
		use = fmt.Sprintf(`SPRING_DATASOURCE_URL="$(dsqlenv jdbc %s)" java -jar app.jar, or your tool's connection settings`, o.profile)
	}
	if r.StdoutIsTerminal {
		// A URL shown at a terminal is about to be copied, and the easy place to paste it is a
		// command line, which every local user can read (/proc/PID/cmdline, ps) for as long as
		// the program runs. A pipe or $(…) is not told: dsqlenv cannot see whether what reads
		// it is an argument (psql "$(dsqlenv url prod)") or the environment, a file or a
		// program's stdin, and a note on every safe use would teach people to skip it.
		r.note("argv", fmt.Sprintf("note: this URL holds a token valid for %s: keep it off command lines, which any local user can read (ps, /proc/PID/cmdline); pass it in the environment: %s",
			text.FormatDuration(s.info.Lifetime), use))
	}
	_, err = fmt.Fprintln(&r.out, u)
	return err
}
