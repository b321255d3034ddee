package cli

import (
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/pgfile"
	"github.com/dsqlenv/dsqlenv/profiles"
)

type pgpassOptions struct {
	global
	names []string
	file  string
}

func pgpassCommand(r *run) *cli.Command {
	return &cli.Command{
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
		Flags: tokenFlags(
			&cli.StringFlag{Name: "file", Usage: "the password file (default: PGPASSFILE or $XDG_STATE_HOME/dsqlenv/pgpass)"},
			&cli.BoolFlag{Name: "path", Usage: "print the password file's path and write nothing"},
		),
		Action: func(c *cli.Context) error {
			o := pgpassOptions{names: c.Args().Slice(), file: c.String("file")}
			if o.file == "" {
				o.file = r.passFilePath()
			}
			if c.Bool("path") {
				_, err := fmt.Fprintln(&r.out, o.file)
				return err
			}
			var err error
			if o.global, err = globalsOf(c, r); err != nil {
				return err
			}
			return pgpassRun(c, r, o)
		},
	}
}

// passFilePath is PGPASSFILE or dsqlenv's own file, not ~/.pgpass: the tokens expire, and a
// file of expiring lines is best kept apart from passwords a user maintains by hand.
func (r *run) passFilePath() string {
	if p := r.Getenv("PGPASSFILE"); p != "" {
		return p
	}
	return filepath.Join(r.Paths.StateHome, "dsqlenv", "pgpass")
}

// pgpassWarnWithin is when the pgpass command warns that its tokens will soon be stale.
const pgpassWarnWithin = time.Hour

func pgpassRun(c *cli.Context, r *run, o pgpassOptions) error {
	sessions, err := r.sessions(o.global, o.names, noRootCert)
	if err != nil {
		return err
	}
	var entries []pgfile.PassEntry
	var first time.Time
	for _, s := range sessions {
		if err := r.mint(c.Context, o.global, s); err != nil {
			return err
		}
		conn := s.conn
		e := pgfile.PassEntry{Host: conn.Host, Port: strconv.Itoa(conn.Port), Database: conn.Database, User: conn.User, Password: s.token}
		if err := pgfile.CheckPassEntry(e); err != nil {
			return fmt.Errorf("profile %s: %v", conn.Profile, err)
		}
		entries = append(entries, e)
		if first.IsZero() || s.info.ExpiresAt.Before(first) {
			first = s.info.ExpiresAt
		}
	}
	r.stage("pgpass", func() (string, error) {
		written, err := pgfile.WritePass(o.file, entries)
		if err != nil {
			return "", err
		}
		left := first.Sub(r.Now()).Round(time.Second)
		note := fmt.Sprintf("wrote %d token(s) to %s; they expire at %s (in %s)", len(entries), written,
			first.Local().Format("15:04:05"), profiles.FormatDuration(left))
		if left < pgpassWarnWithin {
			note += "\nwarning: the tokens expire in under an hour: run dsqlenv pgpass again before then, or raise expires_in"
		}
		return note, nil
	})
	return nil
}
