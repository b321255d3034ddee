package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/internal/text"
	"github.com/dsqlenv/dsqlenv/pgfile"
	"github.com/dsqlenv/dsqlenv/profiles"
)

type pgpassOptions struct {
	global
	names []string
	file  string
	// minValid, when refresh is set, is how long a token already in the file must still be
	// valid to be kept.
	refresh  bool
	minValid time.Duration
	path     bool // print the file's path only
}

func newPgpassCommand(r *run) *cli.Command {
	var o pgpassOptions
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

With --min-valid DURATION it re-mints only the tokens that expire within DURATION
(or are missing) and leaves every other line alone, so a run with nothing to do
makes no AWS call: run it every minute from cron, a systemd timer, launchd or the
Windows task scheduler, and GUI clients, scripts and psql reconnects always find a
valid token. It then prints one line on stdout saying how many it refreshed
(errors go to stderr, so cron mails only those when stdout goes to /dev/null).
A PGPASSWORD in a client's environment beats the file: unset it there.

Examples:
   dsqlenv pgpass prod
   dsqlenv service --passfile "$(dsqlenv pgpass --path)" prod && psql service=prod
   dsqlenv pgpass --min-valid 5m prod      # every minute: re-mints when under 5m are left`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "file", Destination: &o.file, Usage: "the password file (default: PGPASSFILE or $XDG_STATE_HOME/dsqlenv/pgpass)"},
			&cli.BoolFlag{Name: "path", Destination: &o.path, Usage: "print the password file's path and write nothing"},
			&cli.DurationFlag{Name: "min-valid", Destination: &o.minValid, Usage: "re-mint only the tokens that expire within `DURATION` (or are missing); no AWS call when none do"},
		},
		Action: func(c *cli.Context) error {
			var err error
			if o.names, err = args(c, "PROFILE", 0, -1); err != nil {
				return err
			}
			o.refresh = c.IsSet("min-valid")
			if o.minValid < 0 {
				return usagef("pgpass: --min-valid %s: give a duration of zero or more, such as 5m", o.minValid)
			}
			if o.file == "" {
				o.file = r.passFilePath()
			} else {
				o.file = r.userPath(o.file)
			}
			if !o.path { // the path needs no profiles file and no AWS
				o.global = r.globals()
			}
			return runPgpass(c.Context, r, o)
		},
	}
}

// pgpassWarnWithin is when the pgpass command warns that its tokens will soon be stale.
const pgpassWarnWithin = time.Hour

func runPgpass(ctx context.Context, r *run, o pgpassOptions) error {
	if o.path {
		_, err := fmt.Fprintln(&r.out, o.file)
		return err
	}
	sessions, err := r.sessions(o.global, o.names, noRootCert)
	if err != nil {
		return err
	}
	total := len(sessions)
	if o.refresh {
		if sessions, err = r.staleSessions(o, sessions); err != nil {
			return err
		}
	}
	var entries []pgfile.PassEntry
	var first time.Time
	for _, s := range sessions {
		if err := r.mint(ctx, o.global, s); err != nil {
			return err
		}
		e := passEntryOf(s)
		if err := pgfile.CheckPassEntry(e); err != nil {
			return fmt.Errorf("profile %s: %v", s.conn.Profile, err)
		}
		entries = append(entries, e)
		if first.IsZero() || s.info.ExpiresAt.Before(first) {
			first = s.info.ExpiresAt
		}
	}
	if o.refresh {
		return r.stageRefresh(o, entries, total, first)
	}
	r.stage("pgpass", func() (string, error) {
		written, err := pgfile.WritePass(r.lockDir(), o.file, entries, nil)
		if err != nil {
			return "", err
		}
		left := first.Sub(r.Now()).Round(time.Second)
		note := fmt.Sprintf("wrote %d token(s) to %s; they expire at %s (in %s)", len(entries), written,
			first.Local().Format("15:04:05"), text.FormatDuration(left))
		if left < pgpassWarnWithin {
			note += "\nnote: run dsqlenv pgpass --min-valid 5m every minute (cron, a systemd timer; see the README) to keep them fresh"
		}
		return note, nil
	})
	return nil
}

// passEntryOf is the password-file line of a session: its token, once minted, and the
// host:port:database:user it is for.
func passEntryOf(s *session) pgfile.PassEntry {
	c := s.conn
	return pgfile.PassEntry{Host: c.Host, Port: strconv.Itoa(c.Port), Database: c.Database, User: c.User, Password: s.token}
}

// staleSessions keeps the sessions whose line in the password file is missing, holds no
// readable token, or holds one that expires within o.minValid, or is shadowed by an earlier
// line that matches through a wildcard. It reads the file the way libpq does (the first
// line that matches a host:port:database:user is the one used) and makes no
// AWS call. A --min-valid not below a profile's expires_in re-mints at every run, which is
// legal but says so on stderr.
func (r *run) staleSessions(o pgpassOptions, sessions []*session) ([]*session, error) {
	existing, err := pgfile.ReadPass(o.file)
	if err != nil {
		return nil, err
	}
	now := r.Now()
	var stale []*session
	for _, s := range sessions {
		if o.minValid >= s.conn.ExpiresIn {
			r.say("warning: --min-valid %s is not below expires_in %s of profile %s: every run re-mints its token",
				text.FormatDuration(o.minValid), text.FormatDuration(s.conn.ExpiresIn), s.conn.Profile)
		}
		// The line libpq will use must be this profile's own: an earlier wildcard line
		// (*:*:*:*:old) shadows it, and MergePass writes the new token before it.
		want := passEntryOf(s)
		if e, ok := pgfile.PassFor(existing, want); ok && e.Host == want.Host && e.Port == want.Port && e.Database == want.Database && e.User == want.User {
			if info, err := profiles.ParseToken(e.Password); err == nil && info.ExpiresAt.Sub(now) > o.minValid {
				continue
			}
		}
		stale = append(stale, s)
	}
	return stale, nil
}

// stageRefresh writes the re-minted lines, if any, and puts the one-line summary on stdout,
// where it appears only once the file is written. A run with nothing to re-mint writes
// nothing: the file, its mode and its time stay as they are.
func (r *run) stageRefresh(o pgpassOptions, entries []pgfile.PassEntry, total int, first time.Time) error {
	if len(entries) > 0 {
		r.stage("pgpass", func() (string, error) {
			_, err := pgfile.WritePass(r.lockDir(), o.file, entries, nil)
			return "", err
		})
	}
	msg := fmt.Sprintf("refreshed %d of %d token(s) in %s", len(entries), total, o.file)
	if len(entries) > 0 {
		msg += fmt.Sprintf("; the first expires at %s (in %s)", first.Local().Format("15:04:05"), text.FormatDuration(first.Sub(r.Now())))
	}
	if fresh := total - len(entries); fresh > 0 {
		msg += fmt.Sprintf("; %d valid for more than %s", fresh, text.FormatDuration(o.minValid))
	}
	_, err := fmt.Fprintln(&r.out, termSafe(msg))
	return err
}
